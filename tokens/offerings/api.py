"""The tokens API: offerings (list, detail, create, clinic consent, deploy) and compliance
officers' agent actions. One view per action; errors use core's shape; the logic lives in
tokens.offerings.services / tokens.offerings.selectors, the same ones the web pages use."""

from decimal import Decimal

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.models import Device
from core.api import Pagination, paginated
from core.permissions import HasRole, Role
from tokens import ledger
from tokens.models import AgentActionKind, AgentActionState, Offering
from tokens.offerings import agent_confirmations, selectors, services

TAG = ["tokens"]
# Same audience as the web offering list.
OFFERING_VIEWER_ROLES = (Role.PLATFORM_ADMIN, Role.CLINIC_ADMIN, Role.COMPLIANCE_OFFICER)

# ----------------------------------------------------------------------------- offerings


class TokenOfferingListItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    public_id = serializers.UUIDField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    token_name = serializers.CharField()
    token_symbol = serializers.CharField()
    units = serializers.IntegerField()
    price_per_unit = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    device_id = serializers.IntegerField()
    clinic_name = serializers.CharField(source="device.organization.name")
    token_address = serializers.CharField()
    created_at = serializers.DateTimeField()


TOKEN_OFFERING_PAGE = paginated(TokenOfferingListItemSerializer, name="TokenOfferingPage")


class TokenOfferingHolderSerializer(serializers.Serializer):
    wallet = serializers.CharField()
    units = serializers.IntegerField()
    share_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    frozen = serializers.BooleanField()
    frozen_units = serializers.IntegerField()


class TokenOfferingCapTableSerializer(serializers.Serializer):
    supply = serializers.IntegerField(help_text="Units in circulation, from indexed Transfer events.")
    paused = serializers.BooleanField()
    frozen_wallets = serializers.ListField(child=serializers.CharField())
    holders = TokenOfferingHolderSerializer(many=True)


class TokenOfferingTransactionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    function = serializers.CharField()
    status = serializers.CharField()
    tx_hash = serializers.CharField()
    block_number = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)


class TokenOfferingDetailSerializer(TokenOfferingListItemSerializer):
    device_name = serializers.SerializerMethodField()
    share_offered_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    allowed_countries = serializers.ListField(child=serializers.IntegerField(),
                                              help_text="ISO 3166-1 numeric codes; empty = any country.")
    max_per_investor = serializers.IntegerField()
    holder_cap = serializers.IntegerField()
    lockup_until = serializers.DateField(allow_null=True)
    revenue_share_pct = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Holders' share of gross.")
    platform_fee_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    reserve_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    reserve_target = serializers.DecimalField(max_digits=14, decimal_places=2)
    clinic_share_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    includes_compute_revenue = serializers.BooleanField()
    consent_at = serializers.DateTimeField(allow_null=True)
    consent_by = serializers.EmailField(source="consent_by.email", allow_null=True, default=None)
    consent_statement = serializers.CharField()
    chain_id = serializers.IntegerField(allow_null=True)
    chain_device_id = serializers.CharField(help_text="bytes32 the factory and AssetRegistry key on.")
    deploy_attempt = serializers.IntegerField()
    error = serializers.CharField()
    cap_table = serializers.SerializerMethodField()
    transactions = serializers.SerializerMethodField()

    def get_device_name(self, obj: Offering) -> str:
        return f"{obj.device.manufacturer} {obj.device.model_name}"

    @extend_schema_field(TokenOfferingCapTableSerializer)
    def get_cap_table(self, obj: Offering):
        return TokenOfferingCapTableSerializer(ledger.cap_table(offering=obj)).data

    @extend_schema_field(TokenOfferingTransactionSerializer(many=True))
    def get_transactions(self, obj: Offering):
        return TokenOfferingTransactionSerializer(selectors.offering_transactions(offering=obj), many=True).data


def _offering(request, offering_id) -> Offering:
    """404 for offerings the user may not see (before any role check on the object)."""
    return selectors.offering_get_for_user(user=request.user, offering_id=offering_id)


def _detail(request, offering: Offering, code=status.HTTP_200_OK) -> Response:
    fresh = _offering(request, offering.pk)
    return Response(TokenOfferingDetailSerializer(fresh).data, status=code)


class OfferingListCreateApi(APIView):
    def get_permissions(self):
        roles = (Role.PLATFORM_ADMIN,) if self.request.method == "POST" else OFFERING_VIEWER_ROLES
        return [HasRole.of(*roles)()]

    class OfferingCreateInputSerializer(serializers.Serializer):
        device = serializers.IntegerField(help_text="Id of a certified device without an offering.")
        token_name = serializers.CharField(max_length=60)
        token_symbol = serializers.CharField(max_length=11, help_text="2–11 capital letters or digits.")
        units = serializers.IntegerField(min_value=1, max_value=10**12,
                                         help_text="Whole token units (one unit = one fraction).")
        price_per_unit = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
        currency = serializers.CharField(max_length=3, default="USD", help_text="ISO 4217 code, e.g. USD, EUR.")
        share_offered_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
        allowed_countries = serializers.ListField(child=serializers.IntegerField(), required=False, default=list,
                                                  help_text="ISO 3166-1 numeric codes; empty = any country.")
        max_per_investor = serializers.IntegerField(min_value=1)
        holder_cap = serializers.IntegerField(min_value=1)
        lockup_until = serializers.DateField(required=False, allow_null=True, default=None)
        revenue_share_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                                     help_text="Holders' share of gross revenue (%).")
        platform_fee_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                                    default=Decimal("5.00"))
        reserve_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                               default=Decimal("0.00"))
        reserve_target = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0,
                                                  default=Decimal("0.00"),
                                                  help_text="The reserve stops at this amount (required with a "
                                                            "reserve).")
        clinic_share_pct = serializers.DecimalField(
            max_digits=5, decimal_places=2, min_value=0, max_value=100,
            help_text="Clinic's operating share; fee + reserve + clinic + holders must be 100.")
        includes_compute_revenue = serializers.BooleanField(default=False)

        def validate_device(self, value: int) -> Device:
            device = selectors.device_for_offering(device_id=value)
            if device is None:
                raise serializers.ValidationError(gettext("No such device."))
            return device

    @extend_schema(tags=TAG, summary="Offerings visible to me (platform admins and compliance officers see "
                   "all; clinic admins their clinic's)",
                   parameters=[OpenApiParameter("status", str, description="Filter by offering status.")],
                   responses=TOKEN_OFFERING_PAGE, operation_id="v1_tokens_offerings_list")
    def get(self, request):
        qs = selectors.offering_list_for_user(user=request.user)
        if request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        pager = Pagination()
        page = pager.paginate_queryset(qs, request, view=self)
        return pager.get_paginated_response(TokenOfferingListItemSerializer(page, many=True).data)

    @extend_schema(tags=TAG, summary="Propose the offering for a certified device (platform admin)",
                   request=OfferingCreateInputSerializer, responses={201: TokenOfferingDetailSerializer})
    def post(self, request):
        s = self.OfferingCreateInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        device = data.pop("device")
        offering = services.offering_create(actor=request.user, device=device, data=data)
        return _detail(request, offering, status.HTTP_201_CREATED)


class OfferingDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, summary="An offering: terms, consent, addresses, status, outbox transactions "
                   "and cap table", responses=TokenOfferingDetailSerializer)
    def get(self, request, offering_id):
        return Response(TokenOfferingDetailSerializer(_offering(request, offering_id)).data)


class OfferingConsentApi(APIView):
    """The owning clinic's administrator consents to tokenizing its device on these terms."""

    permission_classes = [IsAuthenticated]

    class OfferingConsentInputSerializer(serializers.Serializer):
        statement = serializers.CharField(required=False, allow_blank=True, default="",
                                          help_text="Optional; a statement naming the terms is recorded "
                                                    "when empty.")

    @extend_schema(tags=TAG, summary="Record the clinic's consent (clinic admin of the owning clinic)",
                   request=OfferingConsentInputSerializer, responses=TokenOfferingDetailSerializer)
    def post(self, request, offering_id):
        offering = _offering(request, offering_id)
        s = self.OfferingConsentInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        offering = services.offering_record_consent(actor=request.user, offering=offering,
                                                    statement=s.validated_data["statement"])
        return _detail(request, offering)


class OfferingDeployApi(APIView):
    """Queue the token deployment through the chain outbox; poll the offering for its status."""

    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    @extend_schema(tags=TAG, summary="Deploy the offering's token (platform admin; requires consent)",
                   request=None, responses={202: TokenOfferingDetailSerializer})
    def post(self, request, offering_id):
        offering = services.offering_deploy(actor=request.user, offering=_offering(request, offering_id))
        return _detail(request, offering, status.HTTP_202_ACCEPTED)


# ----------------------------------------------------------------------------- agent actions


class _AgentActionOut(serializers.Serializer):
    id = serializers.IntegerField()
    offering_id = serializers.IntegerField()
    kind = serializers.CharField()
    wallet = serializers.CharField()
    to_wallet = serializers.CharField()
    amount = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    state = serializers.ChoiceField(choices=AgentActionState.choices,
                                    help_text="awaiting_confirmation: a second officer must confirm it.")
    units = serializers.IntegerField(allow_null=True)
    confirmed_by = serializers.EmailField(source="confirmed_by.email", allow_null=True, default=None)
    status = serializers.CharField(source="chain_tx.status", allow_null=True, default=None)
    tx_hash = serializers.CharField(source="chain_tx.tx_hash", allow_null=True, default=None)
    error = serializers.CharField(source="chain_tx.error", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class AgentActionCreateApi(APIView):
    """A compliance officer's token action (pause, freeze, forced transfer, recovery…),
    executed through the chain outbox; poll the action for its status."""

    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    class AgentActionCreateInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=AgentActionKind.choices)
        reason = serializers.CharField()
        wallet = serializers.CharField(required=False, allow_blank=True, default="")
        to_wallet = serializers.CharField(required=False, allow_blank=True, default="")
        amount = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)

    class AgentActionCreateOutputSerializer(_AgentActionOut):
        pass

    @extend_schema(tags=TAG, summary="Request a token agent action",
                   request=AgentActionCreateInputSerializer, responses={201: AgentActionCreateOutputSerializer})
    def post(self, request, offering_id):
        offering = selectors.offering_get_for_user(user=request.user, offering_id=offering_id)
        s = self.AgentActionCreateInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        action = services.agent_action_request(actor=request.user, offering=offering, **s.validated_data)
        return Response(self.AgentActionCreateOutputSerializer(action).data, status=status.HTTP_201_CREATED)


class AgentActionDetailApi(APIView):
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    class AgentActionDetailOutputSerializer(_AgentActionOut):
        pass

    @extend_schema(tags=TAG, summary="A token agent action and its chain status",
                   responses=AgentActionDetailOutputSerializer)
    def get(self, request, action_id):
        action = selectors.agent_action_get(action_id=action_id)
        return Response(self.AgentActionDetailOutputSerializer(action).data)


class AgentActionDecisionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AgentActionConfirmApi(APIView):
    """A second officer confirms a forced transfer or recovery above the threshold."""

    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    @extend_schema(tags=TAG, summary="Confirm a token agent action (second officer)",
                   request=AgentActionDecisionInputSerializer, responses=_AgentActionOut)
    def post(self, request, action_id):

        s = AgentActionDecisionInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        action = agent_confirmations.agent_action_confirm(
            actor=request.user, action=selectors.agent_action_get(action_id=action_id), **s.validated_data)
        return Response(_AgentActionOut(action).data)


class AgentActionRejectApi(APIView):
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    @extend_schema(tags=TAG, summary="Reject a token agent action waiting for confirmation",
                   request=AgentActionDecisionInputSerializer, responses=_AgentActionOut)
    def post(self, request, action_id):

        s = AgentActionDecisionInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        action = agent_confirmations.agent_action_reject(
            actor=request.user, action=selectors.agent_action_get(action_id=action_id), **s.validated_data)
        return Response(_AgentActionOut(action).data)


# ----------------------------------------------------------------------------- investors: buying

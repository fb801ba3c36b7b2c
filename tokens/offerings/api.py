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
from tokens import economics, ledger
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


class PricingReasonSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="no_appraisal, appraisal_currency, valuation_above_band, "
                                 "valuation_below_band, no_yield, too_few_days, yield_above_band, yield_below_band.")
    message = serializers.CharField()


class PricingAppraisalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Reconciled value.")
    currency = serializers.CharField()
    effective_date = serializers.DateField()
    signed_at = serializers.DateTimeField(allow_null=True)


class PricingProjectionSerializer(serializers.Serializer):
    yield_pct = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                         help_text="Implied annual yield at full subscription (%/yr): a "
                                                   "projection; null when none can be made (see reason).")
    reason = serializers.CharField(help_text="Why there is no yield, else empty.")
    currency = serializers.CharField()
    window_start = serializers.DateField()
    window_end = serializers.DateField(help_text="Last day read (inclusive); today is left out.")
    window_days = serializers.IntegerField()
    days = serializers.IntegerField(help_text="Days of the window with measured data: what the yield rests on.")
    first_day = serializers.DateField(allow_null=True)
    last_day = serializers.DateField(allow_null=True)
    gross = serializers.DecimalField(max_digits=16, decimal_places=2,
                                     help_text="Priced gross over the window, as counted under the terms.")
    procedure_gross = serializers.DecimalField(max_digits=16, decimal_places=2)
    compute_gross = serializers.DecimalField(max_digits=16, decimal_places=2)
    compute_included = serializers.BooleanField()
    unpriced_procedures = serializers.IntegerField()
    excluded_flagged = serializers.IntegerField()
    annual_gross = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    holders_pool_per_year = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    holders_share_pct = serializers.DecimalField(max_digits=5, decimal_places=2)


class PricingBandsSerializer(serializers.Serializer):
    valuation_pct = serializers.DecimalField(max_digits=7, decimal_places=2)
    yield_min_pct = serializers.DecimalField(max_digits=7, decimal_places=2)
    yield_max_pct = serializers.DecimalField(max_digits=7, decimal_places=2)
    window_days = serializers.IntegerField()
    min_days = serializers.IntegerField()


class PricingAcceptanceSerializer(serializers.Serializer):
    role = serializers.CharField(help_text="The acceptor's role: compliance_officer or platform_admin.")
    at = serializers.DateTimeField()
    reason = serializers.CharField()
    by_id = serializers.IntegerField()
    covers = serializers.BooleanField(help_text="Whether it still covers the figures now.")
    reasons = PricingReasonSerializer(many=True, help_text="The reasons accepted.")


class PricingSerializer(serializers.Serializer):
    units = serializers.IntegerField(source="pricing.units")
    price_per_unit = serializers.DecimalField(max_digits=14, decimal_places=2, source="pricing.price_per_unit")
    currency = serializers.CharField(source="pricing.currency")
    valuation = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="units × price per unit.")
    appraisal = PricingAppraisalSerializer(allow_null=True, help_text="The device's signed appraisal.")
    premium_pct = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                           help_text="valuation / appraisal − 1, in %; negative: a discount.")
    projection = PricingProjectionSerializer()
    bands = PricingBandsSerializer()
    in_band = serializers.BooleanField()
    reasons = PricingReasonSerializer(many=True, help_text="Why the figures are outside the bands.")


class OfferingPricingSerializer(PricingSerializer):
    acceptance = serializers.SerializerMethodField()
    deployable = serializers.SerializerMethodField(help_text="Whether the pricing lets the token be deployed now.")

    @extend_schema_field(PricingAcceptanceSerializer(allow_null=True))
    def get_acceptance(self, check):
        accepted = economics.acceptance(self.context["offering"], check)
        return None if accepted is None else PricingAcceptanceSerializer(accepted).data

    def get_deployable(self, check) -> bool:
        return check.in_band or economics.acceptance_covers(self.context["offering"], check)


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
    pricing = serializers.SerializerMethodField()
    pricing_set_by = serializers.IntegerField(source="pricing_author_id",
                                              help_text="Who set the current price and terms (may not accept it).")

    def get_device_name(self, obj: Offering) -> str:
        return f"{obj.device.manufacturer} {obj.device.model_name}"

    @extend_schema_field(TokenOfferingCapTableSerializer)
    def get_cap_table(self, obj: Offering):
        return TokenOfferingCapTableSerializer(ledger.cap_table(offering=obj)).data

    @extend_schema_field(TokenOfferingTransactionSerializer(many=True))
    def get_transactions(self, obj: Offering):
        return TokenOfferingTransactionSerializer(selectors.offering_transactions(offering=obj), many=True).data

    @extend_schema_field(OfferingPricingSerializer)
    def get_pricing(self, obj: Offering):
        return OfferingPricingSerializer(economics.offering_pricing(obj), context={"offering": obj}).data


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


class OfferingPricingPreviewApi(APIView):
    """The pricing figures of proposed terms, nothing saved: the create form's "Check the price"."""

    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    @extend_schema(tags=TAG, summary="Check proposed terms against the appraisal and the measured revenue "
                   "(platform admin; nothing is saved)",
                   request=OfferingListCreateApi.OfferingCreateInputSerializer, responses=PricingSerializer)
    def post(self, request):
        s = OfferingListCreateApi.OfferingCreateInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        device = data.pop("device")
        return Response(PricingSerializer(economics.pricing_check(
            device=device, pricing=economics.Pricing.from_data(data))).data)


class OfferingTermsApi(APIView):
    """Change the price, units or terms before deployment (the web's "Change price or terms")."""

    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    class OfferingTermsInputSerializer(serializers.Serializer):
        token_name = serializers.CharField(max_length=60, required=False)
        token_symbol = serializers.CharField(max_length=11, required=False)
        units = serializers.IntegerField(min_value=1, max_value=10**12, required=False)
        price_per_unit = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
        currency = serializers.CharField(max_length=3, required=False)
        share_offered_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                                     required=False)
        allowed_countries = serializers.ListField(child=serializers.IntegerField(), required=False)
        max_per_investor = serializers.IntegerField(min_value=1, required=False)
        holder_cap = serializers.IntegerField(min_value=1, required=False)
        lockup_until = serializers.DateField(required=False, allow_null=True)
        revenue_share_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                                     required=False)
        platform_fee_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                                    required=False)
        reserve_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                               required=False)
        reserve_target = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
        clinic_share_pct = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                                    required=False)
        includes_compute_revenue = serializers.BooleanField(required=False)

    @extend_schema(tags=TAG, summary="Change an offering's price, units or terms before deployment (platform "
                   "admin; the clinic consents again, an accepted pricing exception is cleared)",
                   request=OfferingTermsInputSerializer, responses=TokenOfferingDetailSerializer)
    def patch(self, request, offering_id):
        offering = _offering(request, offering_id)
        s = self.OfferingTermsInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        offering = services.offering_update_terms(actor=request.user, offering=offering, data=dict(s.validated_data))
        return _detail(request, offering)


class OfferingAcceptPricingApi(APIView):
    """A second person — a platform admin or compliance officer who did not set the price —
    accepts pricing outside the bands with a written reason, so the token can be deployed."""

    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN, Role.COMPLIANCE_OFFICER)]

    class OfferingAcceptPricingInputSerializer(serializers.Serializer):
        reason = serializers.CharField(help_text="Why this pricing is acceptable; shown to investors.")

    @extend_schema(tags=TAG, summary="Accept an offering's pricing outside the bands (second person)",
                   request=OfferingAcceptPricingInputSerializer, responses=TokenOfferingDetailSerializer)
    def post(self, request, offering_id):
        offering = _offering(request, offering_id)
        s = self.OfferingAcceptPricingInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        offering = services.offering_accept_pricing(actor=request.user, offering=offering,
                                                    reason=s.validated_data["reason"])
        return _detail(request, offering)


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

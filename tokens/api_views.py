"""The tokens API: offerings (list, detail, create, clinic consent, deploy) and compliance
officers' agent actions. One view per action; errors use core's shape; the logic lives in
tokens.services / tokens.selectors, the same ones the web pages use."""

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
from tokens import ledger, selectors, services
from tokens.models import AgentActionKind, AgentActionState, Offering

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
        return TokenOfferingCapTableSerializer(selectors.cap_table(offering=obj)).data

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
        from tokens import agent_confirmations

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
        from tokens import agent_confirmations

        s = AgentActionDecisionInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        action = agent_confirmations.agent_action_reject(
            actor=request.user, action=selectors.agent_action_get(action_id=action_id), **s.validated_data)
        return Response(_AgentActionOut(action).data)


# ----------------------------------------------------------------------------- investors: buying


class InvestOfferingItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    token_name = serializers.CharField()
    token_symbol = serializers.CharField()
    token_address = serializers.CharField()
    device_summary = serializers.SerializerMethodField()
    device_id = serializers.IntegerField()
    clinic_name = serializers.CharField(source="device.organization.name")
    price_per_unit = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    units_offered = serializers.SerializerMethodField()
    units_available = serializers.SerializerMethodField()
    max_per_investor = serializers.IntegerField()
    revenue_share_pct = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Holders' share of gross.")
    platform_fee_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    reserve_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    reserve_target = serializers.DecimalField(max_digits=14, decimal_places=2)
    clinic_share_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    includes_compute_revenue = serializers.BooleanField()
    allowed_countries = serializers.ListField(child=serializers.IntegerField())
    lockup_until = serializers.DateField(allow_null=True)
    verify_url = serializers.SerializerMethodField()

    def get_device_summary(self, obj: Offering) -> str:
        d = obj.device
        return f"{d.get_modality_display()} {d.manufacturer} {d.model_name}"

    def get_units_offered(self, obj: Offering) -> int:

        return ledger.units_offered(obj)

    def get_units_available(self, obj: Offering) -> int:

        return ledger.units_available(obj)

    def get_verify_url(self, obj: Offering) -> str:
        from django.urls import reverse

        return reverse("assets:verify", args=[obj.device.public_ref])


INVEST_OFFERING_PAGE = paginated(InvestOfferingItemSerializer, name="InvestOfferingPage")


class InvestOfferingListApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR)]

    @extend_schema(tags=TAG, summary="Offerings open for investment (investors)",
                   responses=INVEST_OFFERING_PAGE, operation_id="v1_tokens_invest_offerings_list")
    def get(self, request):
        pager = Pagination()
        page = pager.paginate_queryset(selectors.offerings_for_investors().order_by("pk"), request, view=self)
        return pager.get_paginated_response(InvestOfferingItemSerializer(page, many=True).data)


class TokenOrderSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    offering_id = serializers.IntegerField()
    token_symbol = serializers.CharField(source="offering.token_symbol")
    units = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=16, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    wallet = serializers.CharField()
    reserved_until = serializers.DateTimeField()
    checkout_session_id = serializers.CharField()
    checkout_url = serializers.SerializerMethodField(help_text="Where to pay (absolute).")
    mint_tx_hash = serializers.CharField(source="mint_tx.tx_hash", allow_null=True, default=None)
    receipt_url = serializers.SerializerMethodField()
    receipt_sha256 = serializers.CharField()
    error = serializers.CharField(help_text="Why the order failed, is refunded or is disputed, in plain words.")
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    refunded_at = serializers.DateTimeField(allow_null=True)

    def get_checkout_url(self, obj) -> str:
        request = self.context.get("request")
        url = obj.checkout_url
        return request.build_absolute_uri(url) if request and url.startswith("/") else url

    def get_receipt_url(self, obj) -> str | None:
        from django.urls import reverse

        return reverse("api-token-order-receipt", args=[obj.public_id]) if obj.receipt_pdf else None


TOKEN_ORDER_PAGE = paginated(TokenOrderSerializer, name="TokenOrderPage")


class OrderListCreateApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR)]

    class OrderCreateInputSerializer(serializers.Serializer):
        offering_id = serializers.IntegerField()
        units = serializers.IntegerField(min_value=1)
        wallet = serializers.CharField(required=False, allow_blank=True, default="", max_length=42,
                                       help_text="Destination: one of your linked, registered self-custody "
                                                 "wallets; empty = your custodial wallet.")

    @extend_schema(tags=TAG, summary="My orders (investors)", responses=TOKEN_ORDER_PAGE,
                   operation_id="v1_tokens_orders_list")
    def get(self, request):
        pager = Pagination()
        page = pager.paginate_queryset(selectors.order_list_for_user(user=request.user), request, view=self)
        return pager.get_paginated_response(TokenOrderSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(tags=TAG, summary="Reserve units and open the checkout (investors; KYC approved)",
                   description="Send an `Idempotency-Key` header to make retries safe: the same key returns the "
                               "same order. Pay at `checkout_url`; the order moves to completed once the tokens "
                               "are minted.",
                   parameters=[OpenApiParameter("Idempotency-Key", str, location=OpenApiParameter.HEADER,
                                                required=False)],
                   request=OrderCreateInputSerializer, responses={201: TokenOrderSerializer})
    def post(self, request):
        from tokens import orders

        s = self.OrderCreateInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        offering = selectors.offering_for_investor(offering_id=s.validated_data["offering_id"])
        order = orders.order_create(actor=request.user, offering=offering, units=s.validated_data["units"],
                                    wallet=s.validated_data["wallet"],
                                    idempotency_key=request.headers.get("Idempotency-Key", "")[:100],
                                    base_url=request.build_absolute_uri("/"))
        return Response(TokenOrderSerializer(order, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class OrderDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, summary="An order and its status (its investor, platform admins, compliance officers)",
                   responses=TokenOrderSerializer)
    def get(self, request, order_id):
        order = selectors.order_get_for_user(user=request.user, order_id=order_id)
        return Response(TokenOrderSerializer(order, context={"request": request}).data)


class OrderReceiptApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, summary="The order's receipt (PDF)",
                   responses={(200, "application/pdf"): bytes})
    def get(self, request, order_id):
        from django.http import FileResponse, Http404

        order = selectors.order_get_for_user(user=request.user, order_id=order_id)
        if not order.receipt_pdf:
            raise Http404("No receipt yet.")
        resp = FileResponse(order.receipt_pdf.open("rb"), content_type="application/pdf")
        resp["Content-Disposition"] = f'attachment; filename="receipt-{order.public_id}.pdf"'
        return resp

"""The primary sale's API: offerings on sale to investors, orders (list, create, detail, receipt)."""


from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import Pagination, paginated
from core.permissions import HasRole, Role
from tokens import economics, ledger
from tokens.models import Offering
from tokens.primary import selectors
from tokens.primary import services as orders

TAG = ["tokens"]


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

        return reverse("assets:verify", args=[obj.device.public_ref])


INVEST_OFFERING_PAGE = paginated(InvestOfferingItemSerializer, name="InvestOfferingPage")


class InvestPricingAppraisalSerializer(serializers.Serializer):
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    effective_date = serializers.DateField()


class InvestPricingProjectionSerializer(serializers.Serializer):
    yield_pct = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                         help_text="Projected annual yield at full subscription (%/yr), from "
                                                   "measured revenue; a projection, not a promise.")
    reason = serializers.CharField(help_text="Why there is no projection, else empty.")
    days = serializers.IntegerField(help_text="Days of measured revenue it rests on.")
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    window_days = serializers.IntegerField()
    gross = serializers.DecimalField(max_digits=16, decimal_places=2)
    annual_gross = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    holders_share_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    holders_pool_per_year = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)


class InvestPricingReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class InvestPricingAcceptanceSerializer(serializers.Serializer):
    role = serializers.CharField(help_text="The second person's role (compliance_officer or platform_admin).")
    at = serializers.DateTimeField()
    reason = serializers.CharField()


class InvestPricingSerializer(serializers.Serializer):
    valuation = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="All N units at this price.")
    appraisal = InvestPricingAppraisalSerializer(allow_null=True)
    premium_pct = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                           help_text="valuation / appraisal − 1, in %; negative: a discount.")
    projection = InvestPricingProjectionSerializer()
    reasons = InvestPricingReasonSerializer(many=True, help_text="Where the figures are outside the platform's "
                                                                 "pricing bands.")
    acceptance = serializers.SerializerMethodField()

    @extend_schema_field(InvestPricingAcceptanceSerializer(allow_null=True))
    def get_acceptance(self, check):
        accepted = economics.acceptance(self.context["offering"], check)
        return None if accepted is None else InvestPricingAcceptanceSerializer(accepted).data


class InvestOfferingDetailSerializer(InvestOfferingItemSerializer):
    units = serializers.IntegerField(help_text="N: the device's units; one unit earns 1/N of the holders' pool.")
    share_offered_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    holder_cap = serializers.IntegerField()
    pricing = serializers.SerializerMethodField()

    @extend_schema_field(InvestPricingSerializer)
    def get_pricing(self, obj: Offering):
        return InvestPricingSerializer(economics.offering_pricing(obj), context={"offering": obj}).data


class InvestOfferingListApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR)]

    @extend_schema(tags=TAG, summary="Offerings open for investment (investors)",
                   responses=INVEST_OFFERING_PAGE, operation_id="v1_tokens_invest_offerings_list")
    def get(self, request):
        pager = Pagination()
        page = pager.paginate_queryset(selectors.offerings_for_investors().order_by("pk"), request, view=self)
        return pager.get_paginated_response(InvestOfferingItemSerializer(page, many=True).data)


class InvestOfferingDetailApi(APIView):
    """The buy page's figures: what a unit is, its price against the appraisal, the projected yield."""

    permission_classes = [HasRole.of(Role.INVESTOR)]

    @extend_schema(tags=TAG, summary="An offering open for investment, with its pricing (investors)",
                   responses=InvestOfferingDetailSerializer)
    def get(self, request, offering_id):
        return Response(InvestOfferingDetailSerializer(selectors.offering_for_investor(offering_id=offering_id)).data)


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
    receipt_sha256 = serializers.CharField(help_text="SHA-256 of the receipt as issued (receipt_url with issued=1).")
    error = serializers.CharField(help_text="Why the order failed, is refunded or is disputed, in plain words.")
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    refunded_at = serializers.DateTimeField(allow_null=True)

    def get_checkout_url(self, obj) -> str:
        request = self.context.get("request")
        url = obj.checkout_url
        return request.build_absolute_uri(url) if request and url.startswith("/") else url

    def get_receipt_url(self, obj) -> str | None:

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
                   description="Rendered for the caller: the date in their time zone, in their language. "
                               "With issued=1, the copy issued at the mint, whose SHA-256 is the order's "
                               "receipt_sha256.",
                   parameters=[OpenApiParameter("issued", bool, description="The copy issued at the mint, "
                                                "byte for byte")],
                   responses={(200, "application/pdf"): bytes})
    def get(self, request, order_id):

        order = selectors.order_get_for_user(user=request.user, order_id=order_id)
        if not order.receipt_pdf:
            raise Http404("No receipt yet.")
        if request.query_params.get("issued", "").lower() in ("1", "true"):
            resp = FileResponse(order.receipt_pdf.open("rb"), content_type="application/pdf")
        else:
            resp = HttpResponse(orders.receipt_for_reader(order=order, reader=request.user),
                                content_type="application/pdf")
        resp["Content-Disposition"] = f'attachment; filename="receipt-{order.public_id}.pdf"'
        resp["Cache-Control"] = "private, no-store"
        return resp

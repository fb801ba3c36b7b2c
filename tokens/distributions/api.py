"""The API twins of the distribution and income pages: clinic statements (confirm, dispute,
pay), the platform admin's desk (resolve, bank transfer, retry, batch claim) and the investor's
income (holdings, claims — custodial, or prepared for the browser wallet and tracked —,
withdrawals, statements). Errors use core's shape; the logic lives in tokens.distributions.services /
tokens.distributions.income, the same the web pages call."""

from __future__ import annotations

from decimal import Decimal

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import Pagination, paginated
from core.permissions import HasRole, Role
from tokens import ledger
from tokens.distributions import income, statements
from tokens.distributions import selectors as sel
from tokens.distributions import services as distributions
from tokens.distributions.income_views import _year, holding_rows
from tokens.distributions.views import pdf_response
from tokens.models import Distribution, DistributionStatus, IncomeClaim, Offering

TAG = ["distributions"]
INCOME_TAG = ["income"]
VIEWER = HasRole.of(Role.PLATFORM_ADMIN, Role.CLINIC_ADMIN)
ADMIN = HasRole.of(Role.PLATFORM_ADMIN)
INVESTOR = HasRole.of(Role.INVESTOR)

# ----------------------------------------------------------------------------- distributions


class DistributionListItemSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    offering_id = serializers.IntegerField()
    token_symbol = serializers.CharField(source="offering.token_symbol")
    clinic_name = serializers.CharField(source="offering.device.organization.name")
    period_start = serializers.DateField(source="period.period_start")
    period_end = serializers.DateField(source="period.period_end", help_text="Exclusive.")
    period_kind = serializers.CharField(source="period.kind")
    status = serializers.CharField(help_text="One of: " + ", ".join(DistributionStatus.values) + ".")
    status_display = serializers.CharField(source="get_status_display")
    currency = serializers.CharField()
    gross = serializers.DecimalField(max_digits=16, decimal_places=2)
    holders_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    amount_due = serializers.DecimalField(max_digits=16, decimal_places=2,
                                          help_text="What the clinic pays the platform (gross − clinic share).")
    confirm_deadline = serializers.DateTimeField()
    error = serializers.CharField(help_text="Why it waits (e.g. treasury funds) or failed.")


DISTRIBUTION_PAGE = paginated(DistributionListItemSerializer, name="DistributionPage")


class DistributionLineSerializer(serializers.Serializer):
    line = serializers.CharField()
    amount = serializers.CharField(help_text="Decimal string, negative for deductions.")
    explanation = serializers.CharField()


class DistributionUsageLineSerializer(serializers.Serializer):
    kind = serializers.CharField()
    amount = serializers.CharField()
    explanation = serializers.CharField()
    detail = serializers.DictField()


class BankTransferSerializer(serializers.Serializer):
    pending = serializers.BooleanField(help_text="true: recorded, waiting for a second platform admin to confirm.")
    reference = serializers.CharField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    recorded_at = serializers.DateTimeField()
    recorded_by = serializers.CharField(allow_null=True, help_text="E-mail; platform admins only.")
    confirmed_at = serializers.DateTimeField(allow_null=True)
    confirmed_by = serializers.CharField(allow_null=True, help_text="E-mail; platform admins only.")


class DistributionDetailSerializer(DistributionListItemSerializer):
    platform_fee = serializers.DecimalField(max_digits=16, decimal_places=2)
    reserve = serializers.DecimalField(max_digits=16, decimal_places=2)
    clinic_share = serializers.DecimalField(max_digits=16, decimal_places=2)
    platform_amount = serializers.SerializerMethodField(help_text="Platform fee plus reserve.")
    procedures = serializers.IntegerField(source="period.procedures")
    compute_jobs = serializers.IntegerField(source="period.compute_jobs")
    usage = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    dispute_reason = serializers.CharField()
    disputed_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    payment_method = serializers.CharField()
    payment_reference = serializers.CharField()
    paid_amount = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    bank_transfer = serializers.SerializerMethodField(
        help_text="A bank transfer recorded by one platform admin and confirmed by a second, different one "
                  "(null when none is recorded).")
    payment_reversed_at = serializers.DateTimeField(
        allow_null=True, help_text="Set when the clinic's card payment was refunded or charged back: the statement "
                                   "is never funded after that, and the amount is owed by the clinic.")
    payment_reversal = serializers.CharField(help_text="What reversed the payment (event and id); never overwritten.")
    stablecoin_address = serializers.CharField()
    stablecoin_decimals = serializers.IntegerField(allow_null=True)
    amount_base_units = serializers.CharField(allow_null=True, help_text="Integer string.")
    report_sha256 = serializers.CharField()
    deposit_tx_hash = serializers.CharField(source="deposit_tx.tx_hash", allow_null=True, default=None)
    deposit_tx_status = serializers.CharField(source="deposit_tx.status", allow_null=True, default=None)
    deposit_block = serializers.IntegerField(allow_null=True)
    distributed_at = serializers.DateTimeField(allow_null=True)
    verify_url = serializers.SerializerMethodField()
    statement_url = serializers.SerializerMethodField()
    report_detail_url = serializers.SerializerMethodField(
        help_text="The detailed usage behind the public report (per-day counts, every CPT × payer cell); its "
                  "SHA-256 is the report's detail.sha256. Null until the report is frozen.")

    @extend_schema_field(BankTransferSerializer(allow_null=True))
    def get_bank_transfer(self, obj: Distribution) -> dict | None:
        if obj.recorded_at is None:
            return None
        request = self.context.get("request")
        # Which admin recorded and confirmed: for the platform's own desk, not for the clinic.
        admin = request is not None and sel.can_see_all(request.user)
        return BankTransferSerializer({
            "pending": distributions.bank_transfer_pending(obj) and obj.paid_at is None,
            "reference": obj.bank_reference, "amount": obj.bank_amount, "recorded_at": obj.recorded_at,
            "recorded_by": obj.recorded_by.email if admin and obj.recorded_by_id else None,
            "confirmed_at": obj.bank_confirmed_at,
            "confirmed_by": obj.bank_confirmed_by.email if admin and obj.bank_confirmed_by_id else None}).data

    def get_report_detail_url(self, obj: Distribution) -> str | None:
        return reverse("api-token-distribution-report-detail", args=[obj.public_id]) if obj.report_detail else None

    def get_platform_amount(self, obj: Distribution) -> str:
        return str(obj.platform_amount)

    def get_usage(self, obj: Distribution) -> list[dict]:
        return DistributionUsageLineSerializer(sel.usage_lines(obj), many=True).data

    def get_lines(self, obj: Distribution) -> list[dict]:
        return DistributionLineSerializer(sel.waterfall_lines(obj), many=True).data

    def get_verify_url(self, obj: Distribution) -> str | None:
        return reverse("tokens_public:distribution-verify", args=[obj.public_id]) if obj.report_sha256 else None

    def get_statement_url(self, obj: Distribution) -> str:
        return reverse("api-token-distribution-statement", args=[obj.public_id])


def _distribution(request, public_id) -> Distribution:
    return sel.distribution_get_for_user(user=request.user, public_id=public_id)


def _out(request, d: Distribution, code=status.HTTP_200_OK) -> Response:
    return Response(DistributionDetailSerializer(_distribution(request, d.public_id),
                                                 context={"request": request}).data, status=code)


class DistributionListApi(APIView):
    permission_classes = [VIEWER]

    @extend_schema(tags=TAG, summary="Revenue statements (clinic admins: their clinics'; platform admins: all)",
                   parameters=[OpenApiParameter("status", str, enum=DistributionStatus.values)],
                   responses=DISTRIBUTION_PAGE, operation_id="v1_tokens_distributions_list")
    def get(self, request):
        qs = sel.distributions_for_user(user=request.user, status=request.query_params.get("status", ""))
        pager = Pagination()
        page = pager.paginate_queryset(qs, request, view=self)
        return pager.get_paginated_response(DistributionListItemSerializer(page, many=True).data)


class DistributionDetailApi(APIView):
    permission_classes = [VIEWER]

    @extend_schema(tags=TAG, summary="A revenue statement: usage, waterfall, payment and deposit",
                   responses=DistributionDetailSerializer, operation_id="v1_tokens_distributions_retrieve")
    def get(self, request, public_id):
        return Response(DistributionDetailSerializer(_distribution(request, public_id),
                                                     context={"request": request}).data)


class DistributionConfirmApi(APIView):
    permission_classes = [VIEWER]

    @extend_schema(tags=TAG, summary="Confirm the statement (clinic admin of the device's clinic)", request=None,
                   responses=DistributionDetailSerializer, operation_id="v1_tokens_distributions_confirm")
    def post(self, request, public_id):
        d = distributions.distribution_confirm(actor=request.user, distribution=_distribution(request, public_id))
        return _out(request, d)


class DistributionDisputeApi(APIView):
    permission_classes = [VIEWER]

    class DistributionDisputeInputSerializer(serializers.Serializer):
        reason = serializers.CharField(help_text="What is wrong with the statement.")

    @extend_schema(tags=TAG, summary="Dispute the statement within the window (clinic admin)",
                   request=DistributionDisputeInputSerializer, responses=DistributionDetailSerializer,
                   operation_id="v1_tokens_distributions_dispute")
    def post(self, request, public_id):
        # Another clinic's statement is a 404 whatever the body says: look it up before validating.
        d = _distribution(request, public_id)
        s = self.DistributionDisputeInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = distributions.distribution_dispute(actor=request.user, distribution=d, reason=s.validated_data["reason"])
        return _out(request, d)


class DistributionResolveApi(APIView):
    permission_classes = [ADMIN]

    class DistributionResolveInputSerializer(serializers.Serializer):
        uphold = serializers.BooleanField(help_text="true: the statement is withdrawn (corrected by an "
                                                    "adjusting period); false: it stands and is payable.")
        resolution = serializers.CharField(help_text="The decision, explained to the clinic.")

    @extend_schema(tags=TAG, summary="Resolve a dispute (platform admin)", request=DistributionResolveInputSerializer,
                   responses=DistributionDetailSerializer, operation_id="v1_tokens_distributions_resolve")
    def post(self, request, public_id):
        s = self.DistributionResolveInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = distributions.distribution_resolve(actor=request.user, distribution=_distribution(request, public_id),
                                               **s.validated_data)
        return _out(request, d)


class DistributionCheckoutApi(APIView):
    permission_classes = [VIEWER]

    class DistributionCheckoutInputSerializer(serializers.Serializer):
        success_url = serializers.URLField(required=False, help_text="Default: the statement page.")
        cancel_url = serializers.URLField(required=False)

    class DistributionCheckoutOutputSerializer(serializers.Serializer):
        checkout_url = serializers.CharField(help_text="Where to pay (absolute).")
        session_id = serializers.CharField()

    @extend_schema(tags=TAG, summary="Open the card checkout for the amount due (clinic admin)",
                   request=DistributionCheckoutInputSerializer,
                   responses={201: DistributionCheckoutOutputSerializer},
                   operation_id="v1_tokens_distributions_checkout")
    def post(self, request, public_id):
        d = _distribution(request, public_id)
        s = self.DistributionCheckoutInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        page = request.build_absolute_uri(reverse("tokens:distribution-detail", args=[d.public_id]))
        payment = distributions.distribution_checkout(
            actor=request.user, distribution=d, success_url=s.validated_data.get("success_url", f"{page}?paid=1"),
            cancel_url=s.validated_data.get("cancel_url", page))
        url = payment.checkout_url
        return Response({"checkout_url": request.build_absolute_uri(url) if url.startswith("/") else url,
                         "session_id": payment.session_id}, status=status.HTTP_201_CREATED)


class DistributionBankTransferApi(APIView):
    permission_classes = [ADMIN]

    class DistributionBankTransferInputSerializer(serializers.Serializer):
        reference = serializers.CharField(max_length=120)
        amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Must equal the amount due.")

    @extend_schema(tags=TAG, summary="Record the clinic's bank transfer (a platform admin; a second, different "
                   "one must confirm it before the statement is paid and deposited)",
                   request=DistributionBankTransferInputSerializer, responses=DistributionDetailSerializer,
                   operation_id="v1_tokens_distributions_bank_transfer")
    def post(self, request, public_id):
        s = self.DistributionBankTransferInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = distributions.distribution_record_bank_transfer(
            actor=request.user, distribution=_distribution(request, public_id), **s.validated_data)
        return _out(request, d)


class DistributionBankTransferConfirmApi(APIView):
    permission_classes = [ADMIN]

    @extend_schema(tags=TAG, summary="Confirm a recorded bank transfer (a second, different platform admin): the "
                   "statement is paid and its deposit queued. 409 `four_eyes` for the admin who recorded it.",
                   request=None, responses=DistributionDetailSerializer,
                   operation_id="v1_tokens_distributions_bank_transfer_confirm")
    def post(self, request, public_id):
        d = distributions.distribution_confirm_bank_transfer(actor=request.user,
                                                             distribution=_distribution(request, public_id))
        return _out(request, d)


class DistributionBankTransferRejectApi(APIView):
    permission_classes = [ADMIN]

    class DistributionBankTransferRejectInputSerializer(serializers.Serializer):
        reason = serializers.CharField(help_text="Why the recorded transfer is discarded.")

    @extend_schema(tags=TAG, summary="Discard a recorded bank transfer that waits for confirmation (platform admin)",
                   request=DistributionBankTransferRejectInputSerializer, responses=DistributionDetailSerializer,
                   operation_id="v1_tokens_distributions_bank_transfer_reject")
    def post(self, request, public_id):
        d = _distribution(request, public_id)
        s = self.DistributionBankTransferRejectInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = distributions.distribution_reject_bank_transfer(actor=request.user, distribution=d,
                                                            reason=s.validated_data["reason"])
        return _out(request, d)


class DistributionReportDetailApi(APIView):
    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN, Role.CLINIC_ADMIN, Role.INVESTOR)]

    @extend_schema(tags=TAG, summary="The detailed usage behind a public distribution report (platform admins, "
                   "the device's clinic, holders at the deposit block): the exact bytes whose SHA-256 is the public "
                   "report's detail.sha256", responses={(200, "application/json"): OpenApiTypes.OBJECT},
                   operation_id="v1_tokens_distributions_report_detail")
    def get(self, request, public_id):
        d = sel.distribution_detail_get_for_user(user=request.user, public_id=public_id)
        resp = HttpResponse(d.report_detail.encode(), content_type="application/json")
        resp["Cache-Control"] = "private, no-store"
        return resp


class DistributionRetryApi(APIView):
    permission_classes = [ADMIN]

    @extend_schema(tags=TAG, summary="Retry a failed deposit (platform admin)", request=None,
                   responses=DistributionDetailSerializer, operation_id="v1_tokens_distributions_retry")
    def post(self, request, public_id):
        d = distributions.distribution_retry(actor=request.user, distribution=_distribution(request, public_id))
        return _out(request, d)


class DistributionStatementApi(APIView):
    permission_classes = [VIEWER]

    @extend_schema(tags=TAG, summary="The clinic's period statement (PDF)",
                   responses={(200, "application/pdf"): bytes}, operation_id="v1_tokens_distributions_statement")
    def get(self, request, public_id):
        d = _distribution(request, public_id)
        return pdf_response(statements.clinic_statement_pdf(d),
                            f"statement-{d.offering.token_symbol}-{d.period.period_start:%Y-%m}.pdf")


class IncomeClaimSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="One of: " + ", ".join(IncomeClaim.Kind.values) + ".")
    status = serializers.CharField(help_text="One of: " + ", ".join(IncomeClaim.Status.values) + ".")
    offering_id = serializers.IntegerField(allow_null=True)
    token_symbol = serializers.CharField(source="offering.token_symbol", allow_null=True, default=None)
    wallet = serializers.CharField()
    to_wallet = serializers.CharField()
    self_custody = serializers.BooleanField()
    amount_base_units = serializers.CharField(allow_null=True, help_text="Integer string; set once confirmed.")
    tx_hash = serializers.SerializerMethodField()
    block_number = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_tx_hash(self, obj: IncomeClaim) -> str:
        return obj.tx_hash or (obj.chain_tx.tx_hash if obj.chain_tx_id and obj.chain_tx.tx_hash else "")


class BatchClaimApi(APIView):
    permission_classes = [ADMIN]

    @extend_schema(tags=TAG, summary="Claim for every custodial wallet of a token with income, 100 a "
                   "transaction (platform admin)", request=None, responses={202: IncomeClaimSerializer(many=True)},
                   operation_id="v1_tokens_offerings_batch_claim")
    def post(self, request, offering_id):
        offering = Offering.objects.filter(pk=offering_id).exclude(token_address="").first()
        if offering is None:
            raise Http404("No such token.")
        claims = income.income_claim_batch(actor=request.user, offering=offering)
        return Response(IncomeClaimSerializer(claims, many=True).data, status=status.HTTP_202_ACCEPTED)


# ----------------------------------------------------------------------------- investor income


class IncomePeriodSerializer(serializers.Serializer):
    distribution_id = serializers.UUIDField(source="distribution.public_id")
    period_start = serializers.DateField(source="distribution.period.period_start")
    units = serializers.IntegerField(help_text="Units held at the deposit block.")
    amount = serializers.DecimalField(max_digits=20, decimal_places=6, help_text="USD.")
    base_units = serializers.CharField(help_text="Stablecoin base units (integer string).")
    decimals = serializers.IntegerField()
    tx_hash = serializers.CharField()
    deposit_block = serializers.IntegerField(source="distribution.deposit_block")
    statement_url = serializers.SerializerMethodField()

    def get_statement_url(self, obj) -> str:
        return reverse("api-token-income-statement", args=[obj["distribution"].public_id])


class RealisedYieldSerializer(serializers.Serializer):
    """The realised yield fields (tokens.costs) of a holding or of all of them."""
    realised_yield_pct = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True,
        help_text="Income over the average cost basis of the units that earned it, over `yield_months` months; "
                  "null unless yield_status is ok. Not a yield on the offering price.")
    annualised_yield_pct = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True,
        help_text="realised_yield_pct × 12 / yield_months (simple); null unless yield_status is ok.")
    yield_months = serializers.IntegerField(help_text="Monthly distributions the yield rests on.")
    yield_status = serializers.ChoiceField(
        choices=["ok", "no_income", "no_price", "under_review"],
        help_text="no_income: no distribution yet; no_price: no unit with a known price earned income; "
                  "under_review: the figure failed the plausibility check and is not published.")


class IncomeHoldingSerializer(RealisedYieldSerializer):
    offering_id = serializers.IntegerField(source="offering.pk")
    token_symbol = serializers.CharField(source="offering.token_symbol")
    token_address = serializers.CharField(source="offering.token_address")
    wallet = serializers.CharField()
    wallet_kind = serializers.CharField()
    self_custody = serializers.BooleanField()
    units = serializers.IntegerField()
    chain_unreachable = serializers.BooleanField(help_text="true: accrued could not be read from the chain.")
    accrued_base_units = serializers.CharField(allow_null=True, help_text="Claimable now; null when unreachable.")
    accrued = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    claimed_base_units = serializers.CharField()
    claimed = serializers.DecimalField(max_digits=20, decimal_places=6)
    periods = IncomePeriodSerializer(many=True)
    cost_basis = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True,
        help_text="USD paid for the units held now (primary orders at their price, market purchases at the trade "
                  "price, sold units leave first in first out); null when none of them has a known USD price.")
    income = serializers.DecimalField(max_digits=20, decimal_places=6,
                                      help_text="USD: every distribution this wallet earned.")

    def to_representation(self, row):
        data = super().to_representation(row)
        if row["chain_unreachable"]:
            data["accrued_base_units"] = None
        return data


class IncomeSummarySerializer(RealisedYieldSerializer):
    total = serializers.DecimalField(max_digits=20, decimal_places=6)
    invested = serializers.DecimalField(max_digits=20, decimal_places=6,
                                        help_text="USD paid for the units held now (their cost basis).")
    periods = serializers.IntegerField(help_text="Distinct months with income.")
    withdrawn_base_units = serializers.CharField()
    by_month = serializers.ListField(child=serializers.DictField())


class IncomeOverviewSerializer(serializers.Serializer):
    holdings = IncomeHoldingSerializer(many=True)
    summary = IncomeSummarySerializer()


class IncomeApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=INCOME_TAG, summary="My income: holdings per token and wallet (accrued read live from "
                   "the chain, claimed, per-period entitlements) and a summary with the annualised yield",
                   responses=IncomeOverviewSerializer, operation_id="v1_tokens_income_retrieve")
    def get(self, request):
        holdings = ledger.investor_holdings(user=request.user, live=True)
        summary = income.income_summary(holdings)
        data = {"holdings": holding_rows(holdings, summary["performances"]),
                "summary": {**summary, "withdrawn_base_units": str(income.withdrawn_total(user=request.user)),
                            "by_month": [{"month": k, "amount": str(v)} for k, v in summary["chart"]]}}
        return Response(IncomeOverviewSerializer(data).data)


class _HoldingInputSerializer(serializers.Serializer):
    offering_id = serializers.IntegerField()
    wallet = serializers.CharField(max_length=42)

    def validate_offering_id(self, value: int) -> Offering:
        offering = Offering.objects.filter(pk=value).exclude(token_address="").first()
        if offering is None:
            raise serializers.ValidationError(gettext("No such token."))
        return offering


def _holding_input(request) -> dict:
    s = _HoldingInputSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    return {"offering": s.validated_data["offering_id"], "wallet": s.validated_data["wallet"]}


class IncomeClaimCreateApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=INCOME_TAG, summary="Claim a custodial holding's income (the platform sends and pays "
                   "the gas)", request=_HoldingInputSerializer, responses={202: IncomeClaimSerializer},
                   operation_id="v1_tokens_income_claim")
    def post(self, request):
        claim = income.income_claim(actor=request.user, **_holding_input(request))
        return Response(IncomeClaimSerializer(claim).data, status=status.HTTP_202_ACCEPTED)


class IncomeClaimPrepareApi(APIView):
    permission_classes = [INVESTOR]

    class IncomeClaimPrepareOutputSerializer(serializers.Serializer):
        # "from" is a Python keyword: the field is declared through the class namespace.
        vars()["from"] = serializers.CharField(help_text="The self-custody wallet that must send it.")
        to = serializers.CharField()
        data = serializers.CharField(help_text="claimIncome() calldata.")
        chainId = serializers.CharField(help_text="Hex chain id.")
        withdrawable_base_units = serializers.CharField()

        def to_representation(self, obj):
            return {"from": obj["from"], "to": obj["to"], "data": obj["data"], "chainId": obj["chainId"],
                    "withdrawable_base_units": str(obj["withdrawable_base_units"])}

    @extend_schema(tags=INCOME_TAG, summary="The claim transaction a self-custody wallet signs (EIP-1193 "
                   "eth_sendTransaction with from/to/data)", request=_HoldingInputSerializer,
                   responses=IncomeClaimPrepareOutputSerializer, operation_id="v1_tokens_income_claim_prepare")
    def post(self, request):
        tx = income.income_claim_prepare(actor=request.user, **_holding_input(request))
        return Response(self.IncomeClaimPrepareOutputSerializer(tx).data)


class IncomeClaimTrackApi(APIView):
    permission_classes = [INVESTOR]

    class IncomeClaimTrackInputSerializer(_HoldingInputSerializer):
        tx_hash = serializers.CharField(max_length=66)

    @extend_schema(tags=INCOME_TAG, summary="Follow a claim sent from the browser wallet (idempotent on the hash)",
                   request=IncomeClaimTrackInputSerializer, responses={201: IncomeClaimSerializer},
                   operation_id="v1_tokens_income_claim_track")
    def post(self, request):
        s = self.IncomeClaimTrackInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        claim = income.income_claim_track(actor=request.user, offering=s.validated_data["offering_id"],
                                          wallet=s.validated_data["wallet"], tx_hash=s.validated_data["tx_hash"])
        return Response(IncomeClaimSerializer(claim).data, status=status.HTTP_201_CREATED)


class IncomeClaimDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=INCOME_TAG, summary="A claim or withdrawal; a browser-sent claim's receipt is read now",
                   responses=IncomeClaimSerializer, operation_id="v1_tokens_income_claim_retrieve")
    def get(self, request, claim_id):
        claim = income.claim_get_for_user(user=request.user, claim_id=claim_id)
        return Response(IncomeClaimSerializer(income.claim_refresh(claim=claim)).data)


class IncomeWithdrawApi(APIView):
    permission_classes = [INVESTOR]

    class IncomeWithdrawInputSerializer(serializers.Serializer):
        to_wallet = serializers.CharField(max_length=42, help_text="One of your linked self-custody wallets.")
        amount = serializers.DecimalField(max_digits=30, decimal_places=6, required=False, allow_null=True,
                                          min_value=Decimal("0.000001"), default=None,
                                          help_text="USD, the stablecoin's unit (at most its decimals); empty = the "
                                                    "whole balance.")

    @extend_schema(tags=INCOME_TAG, summary="Withdraw claimed stablecoin from the custodial wallet to a linked "
                   "self-custody wallet (the platform pays the gas)", request=IncomeWithdrawInputSerializer,
                   responses={202: IncomeClaimSerializer}, operation_id="v1_tokens_income_withdraw")
    def post(self, request):
        s = self.IncomeWithdrawInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        claim = income.income_withdraw(actor=request.user, **s.validated_data)
        return Response(IncomeClaimSerializer(claim).data, status=status.HTTP_202_ACCEPTED)


class IncomeStatementApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR, Role.PLATFORM_ADMIN)]

    @extend_schema(tags=INCOME_TAG, summary="My statement for a distributed period (PDF)",
                   responses={(200, "application/pdf"): bytes}, operation_id="v1_tokens_income_statement")
    def get(self, request, public_id):
        d = sel.distribution_get_for_investor(user=request.user, public_id=public_id)
        return pdf_response(statements.investor_statement_pdf(d, user=request.user),
                            f"income-{d.offering.token_symbol}-{d.period.period_start:%Y-%m}.pdf")


class IncomeYearlySummaryApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=INCOME_TAG, summary="My yearly income summary (PDF or CSV)",
                   parameters=[OpenApiParameter("kind", str, enum=["pdf", "csv"], description="Default pdf.")],
                   responses={(200, "application/pdf"): bytes, (200, "text/csv"): str},
                   operation_id="v1_tokens_income_yearly_summary")
    def get(self, request, year):

        year = _year(year)
        # Not `format`: DRF reserves it for renderer negotiation.
        fmt = request.query_params.get("kind", "pdf")
        mod = statements
        if fmt == "csv":
            resp = HttpResponse(mod.yearly_summary_csv(user=request.user, year=year),
                                content_type="text/csv; charset=utf-8")
            resp["Content-Disposition"] = f'attachment; filename="income-{year}.csv"'
            return resp
        return pdf_response(mod.yearly_summary_pdf(user=request.user, year=year), f"income-{year}.pdf")


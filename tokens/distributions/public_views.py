"""Public proof of a revenue distribution (no login): the frozen report rendered, its exact
bytes for download (their SHA-256 is on chain), and a LIVE read of the deposit's
RevenueDistributed event comparing the on-chain report hash with the report's. Nothing
beyond what the public report holds is shown to the public: no per-day counts, no CPT × payer
cell of fewer than DISTRIBUTION_REPORT_MIN_CELL procedures (tokens.distributions.services.build_report);
the detailed usage it commits to (by SHA-256) is shown to the clinic, platform admins and
holders signed in. Included from config/urls.py with its own
patterns (web page, report download and the API twin)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from chain import gateway
from chain import selectors as chain_selectors
from core.errors import ApplicationError
from core.ratelimit import client_over_budget
from telemetry.selectors import KIND_LABELS, describe_line
from tokens.distributions.selectors import detail_data, detail_visible_to, report_data
from tokens.models import Distribution, DistributionStatus
from tokens.waterfall import LABELS, describe

logger = logging.getLogger(__name__)

# Statuses that never reach the chain: said plainly instead of "not deposited yet".
NEVER_DEPOSITED = {DistributionStatus.NOTHING_DUE: gettext_lazy("Nothing was due for this period; nothing is "
                                                                 "deposited."),
                   DistributionStatus.WITHDRAWN: gettext_lazy("The clinic's dispute was upheld; this statement was "
                                                              "withdrawn and nothing is deposited.")}


# --------------------------------------------------------------------------- throttle


def rate_per_minute() -> int:
    return int(getattr(settings, "TOKENS_VERIFY_RATE_PER_MINUTE", 60))


def throttled(request) -> bool:
    """Counts this request against its address's budget; True once over it. Every page reads
    the chain, so the public surface must not be a free RPC relay."""
    return client_over_budget(request, "tokens.verify", rate_per_minute())


# --------------------------------------------------------------------------- selectors


def distribution_public_get(public_id) -> Distribution:
    d = (Distribution.objects.select_related("offering", "offering__device", "period", "deposit_tx")
         .filter(public_id=public_id).first())
    if d is None:
        raise Http404("No such distribution.")
    return d


def deposit_onchain(d: Distribution) -> dict:
    """Read the deposit's receipt from the node now and compare its RevenueDistributed
    reportHash with the report's SHA-256. `state`: never | not_deposited | pending |
    unavailable | reverted | no_event | match | mismatch. Never claims a match it did not read."""

    out = {"state": "not_deposited", "reason": "", "onchain_sha256": "", "block": None, "tx_hash": "",
           "amount": None, "points_per_share": None, "dust_magnified": None, "match": None}
    if d.status in NEVER_DEPOSITED:
        return {**out, "state": "never", "reason": str(NEVER_DEPOSITED[d.status])}
    tx_hash = d.deposit_tx.tx_hash if d.deposit_tx_id and d.deposit_tx else ""
    if not tx_hash:
        return {**out, "reason": gettext("Not deposited yet. The report is frozen and the deposit is queued.")
                if d.report else gettext("Not deposited yet.")}
    out["tx_hash"] = tx_hash
    try:
        receipt = gateway.receipt_status(tx_hash)
    except gateway.ChainUnavailable as exc:
        return {**out, "state": "unavailable", "reason": gettext(
            "The chain node could not be reached (%(exc)s); nothing was checked.") % {"exc": exc}}
    except Exception as exc:  # a node answering garbage is no better than none
        logger.warning("Reading deposit receipt %s failed: %s", tx_hash, exc)
        return {**out, "state": "unavailable", "reason": gettext(
            "The chain node did not answer properly (%(exc)s); nothing was checked.") % {"exc": exc}}
    if receipt is None:
        return {**out, "state": "pending", "reason": gettext("Not deposited yet: the deposit transaction is not "
                                                             "mined.")}
    out["block"] = receipt["blockNumber"]
    if receipt["status"] != 1:
        return {**out, "state": "reverted", "reason": gettext("The deposit transaction reverted; nothing was "
                                                              "deposited.")}
    token = d.offering.token_address.lower()
    event = next((lg for lg in receipt["logs"] if lg.get("event") == "RevenueDistributed"
                  and lg["address"].lower() == token), None)
    if event is None:
        return {**out, "state": "no_event", "match": False,
                "reason": gettext("The transaction has no RevenueDistributed event of this token.")}
    onchain = str(event["args"]["reportHash"]).lower().removeprefix("0x")
    match = bool(d.report_sha256) and onchain == d.report_sha256
    return {**out, "state": "match" if match else "mismatch", "match": match, "onchain_sha256": onchain,
            "amount": int(event["args"]["amount"]), "points_per_share": int(event["args"]["pointsPerShare"]),
            "dust_magnified": int(event["args"]["dustMagnified"])}


def _factory_address() -> str:
    """The TokenFactory the verifier checks a token's provenance against (published here too)."""
    try:
        return chain_selectors.deployment_address("TokenFactory")
    except ApplicationError:
        return "<TokenFactory address>"


def _urls(d: Distribution) -> dict:
    return {"page": reverse("tokens_public:distribution-verify", args=[d.public_id]),
            "report": reverse("tokens_public:distribution-report", args=[d.public_id]) if d.report else None}


# --------------------------------------------------------------------------- web


def _too_many(request):
    resp = render(request, "tokens/public/verify_throttled.html", {"limit": rate_per_minute()}, status=429)
    resp["Retry-After"] = "60"
    return resp


def _labelled(lines: list[dict]) -> list[dict]:

    for line in lines:
        line.update(label=KIND_LABELS.get(line.get("kind"), line.get("kind")), explanation=describe_line(line))
    return lines


def distribution_verify(request, public_id):
    """Anyone sees the public report (totals, cells of at least min_cell procedures, the
    detail's hash); the clinic, platform admins and holders signed in also see the detailed
    usage it commits to."""
    if throttled(request):
        return _too_many(request)
    d = distribution_public_get(public_id)
    report = report_data(d)
    detail = detail_data(d) if detail_visible_to(request.user, d) else None
    revenue_lines, daily = [], []
    if report:  # shown in the reader's language; the download stays the hashed bytes

        # A report of schema /1 (before the public report was made private) published its
        # lines and days itself; its bytes are on chain and are shown as they are.
        revenue_lines = _labelled(report["revenue"]["lines"] if "revenue" in report
                                  else report.get("revenue_lines", []))
        daily = report.get("usage", {}).get("daily", [])
        units = report.get("units") or {}
        wf = {"terms": report.get("terms"), **report.get("waterfall", {}),
              "units": {"total": units.get("total"), "outstanding": units.get("outstanding_at_statement")}}
        for line in report.get("waterfall", {}).get("lines", []):
            line.update(label=LABELS.get(line.get("line"), line.get("line")),
                        explanation=describe(line, wf, d.currency))
    if detail:
        detail["revenue_lines"] = _labelled(detail.get("revenue_lines", []))
        daily = detail.get("usage", {}).get("daily", [])
    resp = render(request, "tokens/public/distribution_verify.html", {
        "d": d, "report": report, "revenue_lines": revenue_lines, "detail": detail, "daily": daily,
        "onchain": deposit_onchain(d), "urls": _urls(d),
        "rpc_hint": f"--rpc <your node URL> --factory {_factory_address()}",
        "detail_url": reverse("tokens:distribution-report-detail", args=[d.public_id]) if detail else ""})
    resp["Cache-Control"] = "no-store"  # the chain is read live on every visit
    return resp


def distribution_report(request, public_id):
    """The report's exact bytes: what was hashed and put on chain (sha256sum of the download
    must equal the on-chain reportHash)."""
    if throttled(request):
        return _too_many(request)
    d = distribution_public_get(public_id)
    if not d.report:
        raise Http404("The report is not frozen yet.")
    resp = HttpResponse(d.report.encode(), content_type="application/json")
    resp["Content-Disposition"] = f'attachment; filename="distribution-{d.public_id}.json"'
    resp["X-Content-SHA256"] = d.report_sha256
    return resp


# --------------------------------------------------------------------------- API


class PublicDistributionOnchainSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["never", "not_deposited", "pending", "unavailable", "reverted",
                                             "no_event", "match", "mismatch"])
    reason = serializers.CharField()
    match = serializers.BooleanField(allow_null=True, help_text="null when nothing could be compared.")
    onchain_sha256 = serializers.CharField(help_text="reportHash of the RevenueDistributed event, read live.")
    tx_hash = serializers.CharField()
    block = serializers.IntegerField(allow_null=True)
    amount = serializers.CharField(allow_null=True, help_text="Base units (decimal string).")
    points_per_share = serializers.CharField(allow_null=True)
    dust_magnified = serializers.CharField(allow_null=True)


class PublicDistributionSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    token_symbol = serializers.CharField()
    token_address = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    report = serializers.JSONField(allow_null=True, help_text="The frozen report (null until frozen).")
    report_sha256 = serializers.CharField(help_text="SHA-256 of the exact bytes served at report_url.")
    report_url = serializers.CharField(allow_null=True)
    page_url = serializers.CharField()
    deposit_tx_hash = serializers.CharField()
    deposit_block = serializers.IntegerField(allow_null=True)
    onchain = PublicDistributionOnchainSerializer()


class PublicDistributionApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=["public"], summary="Public proof of a revenue distribution (no login; throttled)",
                   description="The frozen public report (totals, CPT × payer cells of at least "
                               "DISTRIBUTION_REPORT_MIN_CELL procedures, no per-day counts, and the SHA-256 of the "
                               "detailed usage that the clinic and holders open), its SHA-256, the deposit "
                               "transaction and a live comparison "
                               "of the on-chain RevenueDistributed reportHash with the report's. 429 `throttled` "
                               "past TOKENS_VERIFY_RATE_PER_MINUTE requests a minute per client address.",
                   responses=PublicDistributionSerializer, auth=[])
    def get(self, request, public_id):
        if throttled(request):
            raise ApplicationError("throttled", gettext(
                'More than %(rate_per_minute)s verification requests a minute from this address; wait a minute.') %
                    {"rate_per_minute": rate_per_minute()}, status=429)
        d = distribution_public_get(public_id)
        onchain = deposit_onchain(d)
        for k in ("amount", "points_per_share", "dust_magnified"):  # uint256: strings, never JSON floats
            onchain[k] = None if onchain[k] is None else str(onchain[k])
        urls = _urls(d)
        return Response(PublicDistributionSerializer({
            "public_id": d.public_id, "status": d.status, "status_display": d.get_status_display(),
            "token_symbol": d.offering.token_symbol, "token_address": d.offering.token_address,
            "period_start": d.period.period_start, "period_end": d.period.period_end, "report": report_data(d),
            "report_sha256": d.report_sha256, "report_url": urls["report"], "page_url": urls["page"],
            "deposit_tx_hash": onchain["tx_hash"], "deposit_block": d.deposit_block or onchain["block"],
            "onchain": onchain}).data)


app_name = "tokens_public"
urlpatterns = [
    path("verify/distributions/<uuid:public_id>/", distribution_verify, name="distribution-verify"),
    path("verify/distributions/<uuid:public_id>/report.json", distribution_report, name="distribution-report"),
    path("api/v1/public/distributions/<uuid:public_id>/", PublicDistributionApi.as_view(),
         name="api-public-distribution"),
]

"""Revenue per month per device, from the distributions (the clinic's statements): the series the
offering's buy page and the clinic's statements page draw, and the table each chart ships as its
text alternative. Pure reads.

Per month: the device's gross revenue, the holders' pool (for all N units), the investors' part of
the pool (the units investors held when the statement was made) and the clinic's part (its
operating share plus the pool's part of the units nobody bought). An adjustment statement holds
only the difference from what was billed for its month, so it is folded into that month; a
withdrawn statement (the clinic's dispute upheld) billed nothing and is left out."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from tokens.models import Distribution, DistributionStatus, Offering

MONTHS = 24  # the chart's span: the device's latest months with a statement
DEVICES = 12  # charts on one statements page (a platform admin sees every device)
SERIES = ("gross", "holders", "investors", "clinic")

_ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=16, decimal_places=2))


_OFFERING = ("offering_id", "offering__token_symbol", "offering__currency", "offering__device__manufacturer",
             "offering__device__model_name")


def _monthly(distributions) -> dict[int, dict]:
    """{offering id: {"offering": {pk, symbol, device, currency}, "months": [{month, gross, holders,
    investors, clinic, clinic_share, retained, statements, adjustments}, …] oldest month first}},
    in one query. Old rows have no investors'/retained split (units_total, investors_amount and
    retained_amount null): the whole pool was the investors' then, as the statement pages read it."""
    rows = (distributions.exclude(status=DistributionStatus.WITHDRAWN)
            .values(*_OFFERING, "period__period_start")
            .annotate(gross=Sum("gross"), holders=Sum("holders_amount"), clinic_share=Sum("clinic_share"),
                      investors=Sum(Coalesce("investors_amount", "holders_amount")),
                      retained=Sum(Coalesce("retained_amount", _ZERO)),
                      statements=Count("pk"), adjustments=Count("pk", filter=Q(period__kind="adjustment")))
            .order_by("offering__token_symbol", "offering_id", "period__period_start"))
    out: dict[int, dict] = {}
    for r in rows:
        entry = out.setdefault(r["offering_id"], {"offering": {
            "pk": r["offering_id"], "symbol": r["offering__token_symbol"], "currency": r["offering__currency"],
            "device": f"{r['offering__device__manufacturer']} {r['offering__device__model_name']}".strip()},
            "months": []})
        entry["months"].append({
            "month": r["period__period_start"].strftime("%Y-%m"), "gross": r["gross"], "holders": r["holders"],
            "investors": r["investors"], "clinic": r["clinic_share"] + r["retained"],
            "clinic_share": r["clinic_share"], "retained": r["retained"],
            "statements": r["statements"], "adjustments": r["adjustments"]})
    return out


def _chart(offering: dict, months: list[dict]) -> dict:
    """One device's chart: parallel series (labels and one list per figure, Decimal; json_script
    writes them as strings) that `series_rows` turns into the table's rows."""
    months = months[-MONTHS:]
    return {
        "id": f"revenue-{offering['pk']}", "offering_id": offering["pk"], "symbol": offering["symbol"],
        "device": offering["device"], "currency": offering["currency"],
        "labels": [m["month"] for m in months],
        **{key: [m[key] for m in months] for key in (*SERIES, "clinic_share", "retained")},
        "adjusted": [m["adjustments"] > 0 for m in months],
    }


def revenue_by_month(*, offering: Offering) -> dict:
    """The offering's device: revenue per month (empty series when no month was closed yet)."""
    device = offering.device
    found = _monthly(Distribution.objects.filter(offering=offering)).get(offering.pk)
    return _chart({"pk": offering.pk, "symbol": offering.token_symbol, "currency": offering.currency,
                   "device": f"{device.manufacturer} {device.model_name}".strip()},
                  found["months"] if found else [])


def revenue_charts(*, distributions) -> list[dict]:
    """One chart per device among `distributions` (a queryset the caller has scoped to what the
    reader may see), in token order, at most DEVICES; a device only when it has a statement."""
    return [_chart(found["offering"], found["months"]) for found in list(_monthly(distributions).values())[:DEVICES]]

"""The usage the income approach of an appraisal reads (registered with
assets.usage in TelemetryConfig.ready): exams per operating day from the daily rollups and
the fee per exam from the fee schedule applied to the device's own CPT mix."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Max, Min, Sum

from telemetry.models import DailyRollup, EventKind, TelemetryEvent
from telemetry.selectors import _default_payer, _dt, _tariff_for, _tariffs

WINDOW_DAYS = 90


def device_usage(*, device, on: dt.date, currency: str) -> dict | None:
    """Completed exams on the days the device worked in the WINDOW_DAYS before `on` (the
    effective date itself is excluded: its rollup is still filling). None without any."""
    start = on - timedelta(days=WINDOW_DAYS)
    worked = DailyRollup.objects.filter(device=device, day__gte=start, day__lt=on, procedures_completed__gt=0)
    agg = worked.aggregate(days=Count("id"), exams=Sum("procedures_completed"), first=Min("day"),
                           last=Max("day"))
    if not agg["days"]:
        return None
    days, exams = agg["days"], agg["exams"]
    exams_per_day = (Decimal(exams) / days).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    # Fee: the tariff of each CPT code performed in the same period (the year's fee, else the
    # latest earlier one), weighted by how often the device performed it.
    payer = _default_payer()
    mix = list(TelemetryEvent.objects.filter(device=device, kind=EventKind.PROCEDURE, status="COMPLETED",
                                              occurred_at__gte=_dt(agg["first"]),
                                              occurred_at__lt=_dt(agg["last"] + timedelta(days=1)))
               .values("cpt_code").annotate(n=Count("id")).order_by("cpt_code"))
    tariffs = _tariffs() if mix else {}  # the fee schedule, loaded once
    priced = unpriced = 0
    amount = Decimal(0)
    for row in mix:
        tariff = _tariff_for(tariffs, row["cpt_code"], payer, agg["last"].year)
        if tariff is None or tariff.currency != currency:
            unpriced += row["n"]
            continue
        priced += row["n"]
        amount += tariff.technical_fee * row["n"]
    fee = (amount / priced).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if priced else None
    if fee is None:
        fee_note = f"the fee schedule ({payer}) prices none of the measured procedures in {currency}"
    else:
        fee_note = (f"fee schedule ({payer}) × the device's CPT mix: {priced} priced procedures"
                    + (f", {unpriced} without a {currency} tariff left out" if unpriced else ""))
    return {"exams_per_day": exams_per_day, "fee_per_exam": fee, "days": days,
            "period": (agg["first"], agg["last"]), "procedures": exams, "priced_procedures": priced,
            "unpriced_procedures": unpriced, "payer": payer, "fee_note": fee_note}

"""Measured usage for the income approach, without importing telemetry (telemetry imports
assets). An app that measures usage registers a provider in its AppConfig.ready():

    assets.usage.register_usage_provider("telemetry.appraisal_usage.device_usage")

A provider is called as `fn(*, device, on, currency)` and returns None (nothing measured)
or {"exams_per_day": Decimal, "fee_per_exam": Decimal | None, "days": int,
"period": (first_day, last_day), ...}; extra keys ("procedures", "fee_note", …) are kept
with the appraisal. `fee_per_exam` is None when the fee schedule does not price the
measured procedures in `currency`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.module_loading import import_string

_PROVIDERS: list[str] = []


def register_usage_provider(dotted_path: str) -> None:
    if dotted_path not in _PROVIDERS:
        _PROVIDERS.append(dotted_path)


def registered_usage_providers() -> list[str]:
    return list(_PROVIDERS)


def measured_usage(*, device, on: dt.date, currency: str) -> dict | None:
    """The first provider's measurement of the device before `on`, or None."""
    for path in _PROVIDERS:
        usage = import_string(path)(device=device, on=on, currency=currency)
        if not usage:
            continue
        exams, fee, days = usage.get("exams_per_day"), usage.get("fee_per_exam"), usage.get("days")
        # A provider that breaks the contract must not slip a float or a guess into a valuation.
        if not isinstance(exams, Decimal) or not isinstance(days, int) or days <= 0 \
                or not (fee is None or isinstance(fee, Decimal)):
            raise TypeError(f"usage provider {path} returned {usage!r}")
        return usage
    return None

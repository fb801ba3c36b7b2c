"""Event shapes and the exact JSON the agent sends.

Decimal quantities travel as strings (`"212.5"`), never floats; timestamps as UTC
`YYYY-MM-DDTHH:MM:SSZ`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

KINDS = ("procedure", "heartbeat", "compute_job")
COMPUTE_JOB_FIELDS = ("job_id", "started_at", "ended_at", "gpu_index", "gpu_seconds", "gpu_energy_j")
FINAL_STATUSES = ("COMPLETED", "DISCONTINUED")
EQUIPMENT_FAILURE = "110501"

# Fields of `data` that are Decimal quantities (sent as strings).
DECIMAL_FIELDS = frozenset(
    {"dlp_mgycm", "ctdivol_mgy", "gpu_seconds", "gpu_energy_j", "gpu_power_w", "gpu_energy_total_j"}
)
INT_FIELDS = frozenset(
    {
        "series_count",
        "image_count",
        "uptime_s",
        "gpu_util_pct",
        "gpu_temp_c",
        "gpu_mem_used_bytes",
        "gpu_mem_total_bytes",
        "xid_errors",
        "ecc_errors",
        "gpu_index",
    }
)


class EventError(ValueError):
    """An event the agent refuses to spool (it could never be accepted)."""


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    idempotency_key: str
    occurred_at: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "idempotency_key": self.idempotency_key,
            "occurred_at": self.occurred_at,
            "data": self.data,
        }


def format_ts(value: datetime) -> str:
    """UTC, second precision, trailing Z. Naive datetimes are refused (ambiguous)."""
    if value.tzinfo is None:
        raise EventError("naive datetime; attach a timezone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(value: str) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise EventError(f"timestamp without timezone: {value!r}")
    return parsed.astimezone(UTC)


def decimal_str(value: Any) -> str:
    """Plain decimal notation, no exponent, no float round-trip."""
    if isinstance(value, float):
        # Floats only reach here from sloppy callers; go through repr to keep what they meant.
        value = Decimal(repr(value))
    dec = value if isinstance(value, Decimal) else Decimal(str(value))
    if not dec.is_finite():
        raise EventError(f"not a finite number: {value!r}")
    text = format(dec, "f")
    if "." not in text:
        text += ".0"
    return text


def normalize_data(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Coerce quantities to their wire types and check what can be checked locally."""
    if kind not in KINDS:
        raise EventError(f"unknown kind {kind!r}")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            out[key] = None
        elif key in DECIMAL_FIELDS:
            out[key] = decimal_str(value)
            if Decimal(out[key]) < 0:
                raise EventError(f"{key} must be >= 0")
        elif key in INT_FIELDS:
            if isinstance(value, bool):
                raise EventError(f"{key} must be an integer")
            number = Decimal(str(value))
            if number != number.to_integral_value():
                raise EventError(f"{key} must be an integer")
            out[key] = int(number)
            if out[key] < 0:
                raise EventError(f"{key} must be >= 0")
        elif isinstance(value, datetime):
            out[key] = format_ts(value)
        else:
            out[key] = value
    if kind == "procedure":
        status = out.get("status")
        if status not in FINAL_STATUSES:
            raise EventError(f"procedure status must be one of {FINAL_STATUSES}, got {status!r}")
        if status == "COMPLETED":
            out.setdefault("reason_code", None)
        for key in ("started_at", "ended_at"):
            if not out.get(key):
                raise EventError(f"procedure needs {key}")
        if parse_ts(out["ended_at"]) < parse_ts(out["started_at"]):
            raise EventError("procedure ends before it starts")
    elif kind == "compute_job":
        for key in COMPUTE_JOB_FIELDS:
            if out.get(key) is None:
                raise EventError(f"compute job needs {key}")
        if parse_ts(out["ended_at"]) <= parse_ts(out["started_at"]):
            raise EventError("compute job must end after it starts")
    return out


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, datetime):
        return format_ts(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, default=_default, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def encode_body(events: list[Event] | list[dict[str, Any]]) -> bytes:
    """The raw request body for a batch: `{"events": [...]}` as compact UTF-8 JSON."""
    items = [e.to_wire() if isinstance(e, Event) else e for e in events]
    return dumps({"events": items})

"""The batch contract (docs/telemetry-protocol.md) as JSON Schema, plus the fast checks
the ingestion hot path runs.

Two levels, as the protocol says:
- the envelope (`BATCH_SCHEMA` without the per-kind `data` rules): a violation is a 400
  for the whole batch; the error details come from `jsonschema`.
- each event's `data` (`PROCEDURE_DATA_SCHEMA`, `HEARTBEAT_DATA_SCHEMA`): a violation
  rejects that one event with a reason.

jsonschema costs tens of milliseconds for a 500-event batch, too slow for the hot path,
so `check_envelope` / `check_data` implement the same rules by hand and jsonschema runs
only to describe a failure. A test keeps the two in agreement.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

MAX_EVENTS = 1000
MODALITIES = ["CT", "MR", "US", "DX", "MG", "PT", "NM", "OT"]
STATUSES = ["COMPLETED", "DISCONTINUED"]
TS_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
DEC_PATTERN = r"^\d{1,15}(\.\d{1,6})?$"

_ts = {"type": "string", "pattern": TS_PATTERN}
_dec = {"type": "string", "pattern": DEC_PATTERN, "description": "non-negative decimal as a string"}
_dec_or_null = {"type": ["string", "null"], "pattern": DEC_PATTERN}
_count = {"type": "integer", "minimum": 0}
_count_or_null = {"type": ["integer", "null"], "minimum": 0}

PROCEDURE_DATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["modality", "cpt_code", "status", "started_at", "ended_at"],
    "properties": {
        "modality": {"enum": MODALITIES},
        "cpt_code": {"type": ["string", "null"], "pattern": r"^[0-9A-Z]{5}$"},
        "status": {"enum": STATUSES},
        "reason_code": {"type": ["string", "null"], "maxLength": 16},
        "started_at": _ts,
        "ended_at": _ts,
        "series_count": _count_or_null,
        "image_count": _count_or_null,
        "dlp_mgycm": _dec_or_null,
        "ctdivol_mgy": _dec_or_null,
        "gpu_seconds": _dec_or_null,
        "gpu_energy_j": _dec_or_null,
        "station_ae": {"type": ["string", "null"], "maxLength": 16},
        "payer": {"type": ["string", "null"], "minLength": 1, "maxLength": 60,
                  "description": "Who pays for this exam; omitted/null: the device's payer mix applies."},
    },
}

COMPUTE_JOB_DATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A compute job run on the device's idle GPU. The event's idempotency_key is the job_id.",
    "required": ["job_id", "started_at", "ended_at", "gpu_index", "gpu_seconds", "gpu_energy_j"],
    "properties": {
        "job_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "started_at": _ts,
        "ended_at": _ts,
        "gpu_index": {"type": "integer", "minimum": 0, "maximum": 63},
        "gpu_seconds": _dec,
        "gpu_energy_j": _dec,
    },
}

HEARTBEAT_DATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "uptime_s": _count_or_null,
        "gpu_util_pct": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
        "gpu_power_w": _dec_or_null,
        "gpu_temp_c": {"type": ["integer", "null"], "minimum": 0, "maximum": 150},
        "gpu_mem_used_bytes": _count_or_null,
        "gpu_mem_total_bytes": _count_or_null,
        "gpu_energy_total_j": _dec_or_null,
        "xid_errors": _count_or_null,
        "ecc_errors": _count_or_null,
    },
}

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["seq", "kind", "idempotency_key", "occurred_at", "data"],
    "properties": {
        "seq": {"type": "integer", "minimum": 1},
        "kind": {"enum": ["procedure", "heartbeat", "compute_job"]},
        "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 128},
        "occurred_at": _ts,
        "data": {"type": "object"},
    },
}

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["events"],
    "properties": {"events": {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS, "items": EVENT_SCHEMA}},
}

# The full contract, as published in the OpenAPI document.
BATCH_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "TelemetryBatch",
    "type": "object",
    "required": ["events"],
    "properties": {
        "events": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_EVENTS,
            "items": {
                **EVENT_SCHEMA,
                "oneOf": [
                    {"properties": {"kind": {"const": "procedure"}, "data": PROCEDURE_DATA_SCHEMA}},
                    {"properties": {"kind": {"const": "heartbeat"}, "data": HEARTBEAT_DATA_SCHEMA}},
                    {"properties": {"kind": {"const": "compute_job"}, "data": COMPUTE_JOB_DATA_SCHEMA}},
                ],
            },
        }
    },
}

RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "seq": {"type": "integer"},
                    "idempotency_key": {"type": "string"},
                    "status": {"enum": ["accepted", "duplicate", "rejected"]},
                    "reason": {"type": "string"},
                },
            },
        },
        "accepted": {"type": "integer"},
        "duplicate": {"type": "integer"},
        "rejected": {"type": "integer"},
        "last_seq": {"type": "integer"},
    },
}


def to_openapi30(node: Any) -> Any:
    """The schema in OpenAPI 3.0's dialect (nullable instead of type lists, no const or
    $schema) for the published API document; the JSON Schema above stays the contract."""
    if isinstance(node, list):
        return [to_openapi30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$schema":
            continue
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            out["type"] = types[0]
            if "null" in value:
                out["nullable"] = True
        elif key == "const":
            out["enum"] = [value]
        elif key == "properties":
            out[key] = {k: to_openapi30(v) for k, v in value.items()}
        else:
            out[key] = to_openapi30(value)
    return out


@cache
def _validator(name: str):
    # Imported on the first validation: jsonschema (with referencing and rpds) is heavy, and
    # only the ingestion path needs it, not every process that loads the schema constants.
    import jsonschema

    schema = {"envelope": ENVELOPE_SCHEMA, "batch": BATCH_SCHEMA, "procedure": PROCEDURE_DATA_SCHEMA,
              "heartbeat": HEARTBEAT_DATA_SCHEMA, "compute_job": COMPUTE_JOB_DATA_SCHEMA}[name]
    return jsonschema.Draft202012Validator(schema)


def describe_errors(name: str, instance: Any, limit: int = 20) -> dict[str, list[str]]:
    """jsonschema's view of what is wrong, keyed by JSON path (for 400 details)."""
    out: dict[str, list[str]] = {}
    for err in sorted(_validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))[:limit]:
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        out.setdefault(path, []).append(err.message)
    return out


# -- fast checks (the same rules, no jsonschema) -------------------------------------------

_TS_RE = re.compile(TS_PATTERN)
_DEC_RE = re.compile(DEC_PATTERN)
_CPT_RE = re.compile(r"^[0-9A-Z]{5}$")
_KINDS = frozenset({"procedure", "heartbeat", "compute_job"})
_EVENT_KEYS = ("seq", "kind", "idempotency_key", "occurred_at", "data")


def _is_int(v: Any) -> bool:
    return type(v) is int


def check_envelope(doc: Any) -> bool:
    """True when `doc` satisfies ENVELOPE_SCHEMA (size aside: the caller answers 413)."""
    if type(doc) is not dict:
        return False
    events = doc.get("events")
    if type(events) is not list or not events:
        return False
    for ev in events:
        if type(ev) is not dict:
            return False
        seq = ev.get("seq")
        key = ev.get("idempotency_key")
        occurred = ev.get("occurred_at")
        if not (_is_int(seq) and seq >= 1 and ev.get("kind") in _KINDS and type(key) is str
                and 1 <= len(key) <= 128 and _ts_ok(occurred)
                and type(ev.get("data")) is dict):
            return False
    return True


def _ts_ok(value: Any) -> bool:
    """The pattern admits impossible instants (month 13, offset +99:00); parse_ts must not raise later."""
    if type(value) is not str or not _TS_RE.match(value):
        return False
    try:
        parse_ts(value)
    except ValueError:
        return False
    return True


def parse_ts(value: str) -> datetime:
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return datetime.fromisoformat(value).astimezone(UTC)


def parse_dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value)


def _dec_ok(v: Any) -> bool:
    return v is None or (type(v) is str and _DEC_RE.match(v) is not None)


def _count_ok(v: Any) -> bool:
    return v is None or (_is_int(v) and v >= 0)


_PROC_DEC = ("dlp_mgycm", "ctdivol_mgy", "gpu_seconds", "gpu_energy_j")
_PROC_COUNT = ("series_count", "image_count")
_HB_DEC = ("gpu_power_w", "gpu_energy_total_j")
_HB_COUNT = ("uptime_s", "gpu_mem_used_bytes", "gpu_mem_total_bytes", "xid_errors", "ecc_errors")


def check_data(kind: str, data: dict) -> str | None:
    """None when `data` satisfies the kind's schema, else a short reason."""
    if kind == "procedure":
        for field in ("modality", "cpt_code", "status", "started_at", "ended_at"):
            if field not in data:
                return f"invalid: data.{field} is required"
        if data["modality"] not in MODALITIES:
            return "invalid: data.modality is not a DICOM modality code"
        cpt = data["cpt_code"]
        if cpt is not None and (type(cpt) is not str or not _CPT_RE.match(cpt)):
            return "invalid: data.cpt_code must be a 5-character CPT code"
        if data["status"] not in STATUSES:
            return "invalid: data.status must be COMPLETED or DISCONTINUED"
        reason = data.get("reason_code")
        if reason is not None and (type(reason) is not str or len(reason) > 16):
            return "invalid: data.reason_code must be a short string"
        for field in ("started_at", "ended_at"):
            v = data[field]
            if not _ts_ok(v):
                return f"invalid: data.{field} must be an ISO 8601 timestamp with zone"
        for field in _PROC_DEC:
            if not _dec_ok(data.get(field)):
                return f"invalid: data.{field} must be a non-negative decimal string"
        for field in _PROC_COUNT:
            if not _count_ok(data.get(field)):
                return f"invalid: data.{field} must be an integer >= 0"
        ae = data.get("station_ae")
        if ae is not None and (type(ae) is not str or len(ae) > 16):
            return "invalid: data.station_ae must be at most 16 characters"
        payer = data.get("payer")
        if payer is not None and (type(payer) is not str or not 1 <= len(payer) <= 60):
            return "invalid: data.payer must be 1 to 60 characters"
        return None
    if kind == "compute_job":
        for field in ("job_id", "started_at", "ended_at", "gpu_index", "gpu_seconds", "gpu_energy_j"):
            if data.get(field) is None:
                return f"invalid: data.{field} is required"
        job = data["job_id"]
        if type(job) is not str or not 1 <= len(job) <= 128:
            return "invalid: data.job_id must be 1 to 128 characters"
        for field in ("started_at", "ended_at"):
            if not _ts_ok(data[field]):
                return f"invalid: data.{field} must be an ISO 8601 timestamp with zone"
        idx = data["gpu_index"]
        if not (_is_int(idx) and 0 <= idx <= 63):
            return "invalid: data.gpu_index must be an integer 0..63"
        for field in ("gpu_seconds", "gpu_energy_j"):
            if not _dec_ok(data[field]):
                return f"invalid: data.{field} must be a non-negative decimal string"
        return None
    for field in _HB_DEC:
        if not _dec_ok(data.get(field)):
            return f"invalid: data.{field} must be a non-negative decimal string"
    for field in _HB_COUNT:
        if not _count_ok(data.get(field)):
            return f"invalid: data.{field} must be an integer >= 0"
    util = data.get("gpu_util_pct")
    if util is not None and not (_is_int(util) and 0 <= util <= 100):
        return "invalid: data.gpu_util_pct must be an integer 0..100"
    temp = data.get("gpu_temp_c")
    if temp is not None and not (_is_int(temp) and 0 <= temp <= 150):
        return "invalid: data.gpu_temp_c must be an integer 0..150"
    return None

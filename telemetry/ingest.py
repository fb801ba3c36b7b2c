"""The ingestion hot path: authenticate a signed batch and store its events exactly once.

Per batch: one query for the credentials, a row lock on the device's stream, one INSERT
for all new events (conflicts on the (device, idempotency_key) / (device, seq) unique
constraints do nothing), one UPDATE of the stream. Older-than-last-seq events (retries)
cost one more SELECT. No ORM objects per event: this runs at tens of thousands of events
per second.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from assets.models import DeviceStatus
from core.crypto import decrypt_str
from core.errors import ApplicationError
from core.ratelimit import minute_hit
from telemetry import schema
from telemetry.models import DeviceCredential, DeviceStream, FlagCode, PlausibilityFlag, TelemetryEvent

HEADER_KEY_ID = "HTTP_X_MEDRWA_KEY_ID"
HEADER_TIMESTAMP = "HTTP_X_MEDRWA_TIMESTAMP"
HEADER_SIGNATURE = "HTTP_X_MEDRWA_SIGNATURE"
MAX_GPU_SECONDS = Decimal(10**9)


def max_skew_s() -> int:
    return getattr(settings, "TELEMETRY_MAX_SKEW_SECONDS", 300)


def max_event_age() -> timedelta:
    # A spool may hold weeks of events after an outage; older than this is suspicious.
    return timedelta(days=getattr(settings, "TELEMETRY_MAX_EVENT_AGE_DAYS", 35))


# The longest a single exam of a modality plausibly takes (minutes); longer is flagged.
# Override with settings.TELEMETRY_MAX_PROCEDURE_MINUTES.
DEFAULT_MAX_PROCEDURE_MINUTES = {"CT": 120, "MR": 180, "US": 120, "DX": 60, "MG": 60, "PT": 240, "NM": 360,
                                 "OT": 240}
MAX_BODY_BYTES = int(2.5 * 1024 * 1024)


def max_body_bytes() -> int:
    return getattr(settings, "TELEMETRY_MAX_BODY_BYTES", MAX_BODY_BYTES)


def max_procedure_minutes(modality: str) -> int:
    limits = {**DEFAULT_MAX_PROCEDURE_MINUTES, **getattr(settings, "TELEMETRY_MAX_PROCEDURE_MINUTES", {})}
    return limits.get(modality, limits["OT"])


def occurrence_tolerance() -> timedelta:
    # occurred_at is the end of a procedure / job on every agent source; a gap is a clock problem.
    return timedelta(seconds=getattr(settings, "TELEMETRY_OCCURRENCE_TOLERANCE_SECONDS", 300))


def rate_per_minute() -> int:
    return getattr(settings, "TELEMETRY_BATCHES_PER_MINUTE", 120)


def gpu_power_band_w() -> tuple[Decimal, Decimal]:
    lo, hi = getattr(settings, "TELEMETRY_GPU_POWER_BAND_W", (20, 1500))
    return Decimal(lo), Decimal(hi)


def _auth_error(code: str, message: str) -> ApplicationError:
    return ApplicationError(code, message, status=401)


@lru_cache(maxsize=4096)
def _secret(ciphertext: str) -> bytes:
    return decrypt_str(ciphertext).encode()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    return "v1=" + hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def authenticate(*, key_id: str, timestamp: str, signature: str, body: bytes, now: float | None = None
                 ) -> DeviceCredential:
    """The credential that signed `body`, or ApplicationError(401) with the protocol's code."""
    if not key_id or not timestamp or not signature:
        raise _auth_error("signature_invalid", "Missing X-MedRWA-Key-Id, -Timestamp or -Signature header.")
    if not (key_id.isascii() and timestamp.isascii() and signature.isascii()):
        # compare_digest refuses non-ASCII str (TypeError): answer 401, never 500.
        raise _auth_error("signature_invalid", "The X-MedRWA headers must be ASCII.")
    # Every credential of the key's device in one query: the key's own row plus the
    # device's other active secret during a rotation.
    creds = list(
        DeviceCredential.objects.filter(device__telemetry_credentials__key_id=key_id)
        .select_related("device").only("id", "key_id", "secret_encrypted", "revoked_at", "last_used_at",
                                       "device__id", "device__gpu_count", "device__status",
                                       "device__organization_id")
    )
    own = next((c for c in creds if c.key_id == key_id), None)
    if own is None:
        raise _auth_error("unknown_key", "Unknown device key id.")
    if own.revoked_at is not None:
        raise _auth_error("key_revoked", "This device key has been revoked.")
    if own.device.status == DeviceStatus.RETIRED:
        raise _auth_error("device_retired", "This device is retired; its keys no longer work.")
    try:
        ts = int(timestamp)
    except ValueError:
        raise _auth_error("signature_invalid", "X-MedRWA-Timestamp must be Unix seconds.") from None
    current = time.time() if now is None else now
    if ts < current - max_skew_s():
        raise _auth_error("timestamp_stale", "The request timestamp is too old; sign each attempt afresh.")
    if ts > current + max_skew_s():
        raise _auth_error("timestamp_future", "The request timestamp is in the future; check the device clock.")
    ok = False
    for cred in creds:
        if cred.revoked_at is None:
            # No early exit: timing must not reveal which secret matched.
            ok |= hmac.compare_digest(sign(_secret(cred.secret_encrypted), ts, body), signature)
    if not ok:
        raise _auth_error("signature_invalid", "The signature does not match the body.")
    own.signed_at = ts
    return own


def check_rate(credential: DeviceCredential, *, now: float | None = None) -> None:
    """Per-key fixed window: more than `TELEMETRY_BATCHES_PER_MINUTE` authenticated batches
    in a minute is 429 (the agent backs off and retries). Counted after authentication, so
    nobody can spend a device's budget without its secret."""
    n, retry_after_s = minute_hit(f"telemetry:{credential.key_id}", now=now)
    if n > rate_per_minute():
        raise ApplicationError("rate_limited", gettext(
            'More than %(rate_per_minute)s batches a minute from this key; retry after the minute.') %
                {"rate_per_minute": rate_per_minute()}, details={"retry_after_s": retry_after_s}, status=429)


def parse_body(body: bytes) -> list[dict]:
    """The batch's events, or ApplicationError 400/413 (whole-batch errors)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApplicationError("malformed_request", gettext('The body is not valid JSON: %(exc)s') %
            {"exc": exc}) from None
    events = doc.get("events") if isinstance(doc, dict) else None
    if isinstance(events, list) and len(events) > schema.MAX_EVENTS:
        raise ApplicationError(
            "batch_too_large", gettext('A batch holds at most %(MAX_EVENTS)s events; this one has %(len)s.') %
                {"MAX_EVENTS": schema.MAX_EVENTS, "len": len(events)},
            details={"max_events": schema.MAX_EVENTS, "events": len(events)}, status=413,
        )
    if not schema.check_envelope(doc):
        raise ApplicationError("validation_error", gettext("The batch does not match the schema."),
                               details=schema.describe_errors("envelope", doc) or {"$": ["invalid batch"]})
    return events


@dataclass
class BatchResult:
    results: list[dict] = field(default_factory=list)
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    last_seq: int = 0
    event_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"results": self.results, "accepted": self.accepted, "duplicate": self.duplicate,
                "rejected": self.rejected, "last_seq": self.last_seq}


_COLUMNS = ("device_id", "seq", "kind", "idempotency_key", "occurred_at", "received_at", "status", "cpt_code",
            "started_at", "ended_at", "gpu_seconds", "gpu_energy_j", "uptime_s", "payer", "gpu_index", "data")


def _row(device_id: int, ev: dict, received_at: datetime, gpu_count: int, signed_at: datetime
         ) -> tuple[tuple | None, str | None, list[tuple[str, dict]]]:
    """(row, rejection reason, flags) for one event whose envelope is valid."""
    kind, data = ev["kind"], ev["data"]
    reason = schema.check_data(kind, data)
    if reason:
        return None, reason, []
    occurred = schema.parse_ts(ev["occurred_at"])
    flags: list[tuple[str, dict]] = []
    if occurred > received_at + timedelta(seconds=max_skew_s()):
        flags.append((FlagCode.CLOCK_SKEW, {"direction": "future", "occurred_at": ev["occurred_at"],
                                            "seconds": int((occurred - received_at).total_seconds())}))
    elif occurred < signed_at - max_event_age():
        flags.append((FlagCode.CLOCK_SKEW, {"direction": "past", "occurred_at": ev["occurred_at"],
                                            "days": (signed_at - occurred).days}))
    if kind == "procedure":
        started = schema.parse_ts(data["started_at"])
        ended = schema.parse_ts(data["ended_at"])
        if ended < started:
            return None, "invalid: data.ended_at is before data.started_at", []
        if ended == started and data["status"] == "COMPLETED":
            return None, "invalid: a completed procedure cannot last zero seconds", []
        longest = max_procedure_minutes(data["modality"])
        if ended - started > timedelta(minutes=longest):
            flags.append((FlagCode.DURATION, {"minutes": int((ended - started).total_seconds() // 60),
                                              "max_minutes": longest, "modality": data["modality"]}))
        _occurrence_flag(flags, occurred, ended, ev["occurred_at"])
        gpu_s = schema.parse_dec(data.get("gpu_seconds"))
        energy = schema.parse_dec(data.get("gpu_energy_j"))
        if (gpu_s or 0) > MAX_GPU_SECONDS or (energy or 0) > MAX_GPU_SECONDS * 10**5:
            return None, "invalid: GPU quantities out of range", []
        flag = gpu_energy_flag(gpu_s or Decimal(0), energy or Decimal(0), gpu_count)
        if flag:
            flags.append((FlagCode.GPU_ENERGY, flag))
        row = (device_id, ev["seq"], kind, ev["idempotency_key"], occurred, received_at, data["status"],
               data.get("cpt_code") or "", started, ended, gpu_s, energy, None, data.get("payer") or "", None, data)
    elif kind == "compute_job":
        if data["job_id"] != ev["idempotency_key"]:
            # One job, one key: a re-sent job is a duplicate, never a second sale.
            return None, "invalid: a compute job's idempotency_key must be its data.job_id", []
        started = schema.parse_ts(data["started_at"])
        ended = schema.parse_ts(data["ended_at"])
        if ended <= started:
            return None, "invalid: data.ended_at must be after data.started_at", []
        _occurrence_flag(flags, occurred, ended, ev["occurred_at"])
        if data["gpu_index"] >= max(gpu_count, 1):
            return None, f"invalid: data.gpu_index {data['gpu_index']} but the device has {gpu_count} GPU(s)", []
        gpu_s = schema.parse_dec(data["gpu_seconds"])
        energy = schema.parse_dec(data["gpu_energy_j"])
        if gpu_s > MAX_GPU_SECONDS or energy > MAX_GPU_SECONDS * 10**5:
            return None, "invalid: GPU quantities out of range", []
        wall = Decimal(int((ended - started).total_seconds()))
        if gpu_s > wall + 1:
            # One GPU cannot be busy longer than the job ran.
            flags.append((FlagCode.GPU_ENERGY, {"gpu_seconds": str(gpu_s), "wall_seconds": str(wall)}))
        else:
            # Energy is judged per GPU: the job ran on one.
            flag = gpu_energy_flag(gpu_s, energy, 1)
            if flag:
                flags.append((FlagCode.GPU_ENERGY, flag))
        row = (device_id, ev["seq"], kind, ev["idempotency_key"], occurred, received_at, "", "", started, ended,
               gpu_s, energy, None, "", data["gpu_index"], data)
    else:
        uptime = data.get("uptime_s")
        row = (device_id, ev["seq"], kind, ev["idempotency_key"], occurred, received_at, "", "", None, None,
               None, None, uptime, "", None, data)
    return row, None, flags


def _occurrence_flag(flags: list[tuple[str, dict]], occurred: datetime, ended: datetime, raw: str) -> None:
    """Revenue months are cut on occurred_at; one that disagrees with the event's own end
    could move it into another month, so it is doubted (once: a skew flag may exist)."""
    if abs(occurred - ended) > occurrence_tolerance() and not any(c == FlagCode.CLOCK_SKEW for c, _ in flags):
        flags.append((FlagCode.CLOCK_SKEW, {"direction": "ended_at", "occurred_at": raw,
                                            "ended_at": ended.isoformat(),
                                            "seconds": int((occurred - ended).total_seconds())}))


def gpu_energy_flag(gpu_seconds: Decimal, energy_j: Decimal, gpu_count: int) -> dict | None:
    """Details when the implied mean power is outside what the device's GPUs can draw."""
    lo, hi = gpu_power_band_w()
    hi = hi * max(gpu_count, 1)
    if gpu_seconds < 1:
        # Too short to judge a mean; only energy no GPU could deliver in a second counts.
        return {"gpu_seconds": str(gpu_seconds), "gpu_energy_j": str(energy_j), "max_w": str(hi)} \
            if energy_j > hi else None
    mean = energy_j / gpu_seconds
    if lo <= mean <= hi:
        return None
    return {"gpu_seconds": str(gpu_seconds), "gpu_energy_j": str(energy_j),
            "mean_power_w": str(mean.quantize(Decimal("0.1"))), "band_w": [str(lo), str(hi)]}


def _insert(rows: list[tuple]) -> list[tuple[int, str]]:
    """INSERT all rows in one statement; returns (id, idempotency_key) of those inserted."""
    table = TelemetryEvent._meta.db_table
    cols = ", ".join(_COLUMNS)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            columns = list(zip(*rows, strict=True))
            # `data` travels as one JSON array parsed by Postgres (one json.dumps call and one
            # C parse instead of 500 of each), joined to the other columns by position.
            sql = (
                f"INSERT INTO {table} ({cols}) "  # noqa: S608 (identifiers are ours, values are parameters)
                "SELECT u.c0, u.c1, u.c2, u.c3, u.c4, u.c5, u.c6, u.c7, u.c8, u.c9, u.c10, u.c11, u.c12, u.c13, "
                "u.c14, d.value "
                "FROM unnest(%b::bigint[], %b::bigint[], %b::varchar[], %b::varchar[], %b::timestamptz[], "
                "%b::timestamptz[], %b::varchar[], %b::varchar[], %b::timestamptz[], %b::timestamptz[], "
                "%b::numeric[], %b::numeric[], %b::bigint[], %b::varchar[], %b::smallint[]) WITH ORDINALITY "
                "AS u(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, n) "
                "JOIN jsonb_array_elements(%b::text::jsonb) WITH ORDINALITY AS d(value, n) ON d.n = u.n "
                "ON CONFLICT DO NOTHING RETURNING id, idempotency_key"
            )
            params = [list(c) for c in columns[:15]]
            params.append(json.dumps(columns[15], separators=(",", ":")))
            # Server-side parameter binding: Django's client-side cursor would quote every
            # array element in Python (most of the batch's CPU time). Imported here: the
            # PostgreSQL driver is only there (and only needed) on PostgreSQL.
            import psycopg

            connection.ensure_connection()
            with psycopg.Cursor(connection.connection) as raw:
                raw.execute(sql, params)
                return raw.fetchall()
        ops = connection.ops
        adapted = [
            (*(ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else
               (str(v) if isinstance(v, Decimal) else v) for v in row[:-1]),
             json.dumps(row[-1], separators=(",", ":")))
            for row in rows
        ]
        one = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
        out: list[tuple[int, str]] = []
        # SQLite allows 32766 parameters per statement.
        step = 32766 // len(_COLUMNS)
        for i in range(0, len(adapted), step):
            chunk = adapted[i:i + step]
            sql = (f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * len(chunk))} "  # noqa: S608
                   "ON CONFLICT DO NOTHING RETURNING id, idempotency_key")
            cur.execute(sql, [v for row in chunk for v in row])
            out.extend(cur.fetchall())
        return out


def _stored_keys(device_id: int, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(TelemetryEvent.objects.filter(device_id=device_id, idempotency_key__in=keys)
               .values_list("idempotency_key", flat=True))


def ingest_batch(*, credential: DeviceCredential, events: list[dict], received_at: datetime | None = None
                 ) -> BatchResult:
    """Store a verified batch. Retrying it changes nothing (every event a duplicate)."""
    received_at = received_at or timezone.now()
    device = credential.device
    signed_at = datetime.fromtimestamp(getattr(credential, "signed_at", received_at.timestamp()), tz=received_at.tzinfo)
    out = BatchResult()
    statuses: list[tuple[str, str | None]] = [("", None)] * len(events)
    with transaction.atomic():
        stream = DeviceStream.objects.select_for_update().filter(device_id=device.pk).first()
        if stream is None:
            DeviceStream.objects.get_or_create(device_id=device.pk)
            stream = DeviceStream.objects.select_for_update().get(device_id=device.pk)
        high = stream.last_seq
        seen: set[str] = set()
        old: list[int] = []  # indexes of events at or below the last seq: retries or replays
        rows: list[tuple] = []
        row_index: list[int] = []
        row_flags: dict[int, list[tuple[str, dict]]] = {}
        for i, ev in enumerate(events):
            key, seq = ev["idempotency_key"], ev["seq"]
            if key in seen:
                statuses[i] = ("duplicate", None)
                continue
            seen.add(key)
            if seq <= high:
                old.append(i)
                continue
            row, reason, flags = _row(device.pk, ev, received_at, device.gpu_count, signed_at)
            if seq > high + 1:
                flags.append((FlagCode.SEQUENCE_GAP, {"expected": high + 1, "got": seq, "missing": seq - high - 1}))
            high = seq
            if row is None:
                statuses[i] = ("rejected", reason)
                continue
            if flags:
                row_flags[len(rows)] = flags
            rows.append(row)
            row_index.append(i)
        inserted = {key: pk for pk, key in _insert(rows)} if rows else {}
        lost = [row_index[j] for j, row in enumerate(rows) if row[3] not in inserted]
        stored = _stored_keys(device.pk, [events[i]["idempotency_key"] for i in old + lost])
        for i in old + lost:
            if events[i]["idempotency_key"] in stored:
                statuses[i] = ("duplicate", None)
            else:
                statuses[i] = ("rejected", f"replay: seq {events[i]['seq']} is at or below the last sequence "
                                           f"number {stream.last_seq} with a new idempotency key")
        for j, row in enumerate(rows):
            if row[3] in inserted:
                statuses[row_index[j]] = ("accepted", None)
        if row_flags:
            PlausibilityFlag.objects.bulk_create(
                [PlausibilityFlag(device_id=device.pk, event_id=inserted[rows[j][3]], code=code, details=details)
                 for j, flags in row_flags.items() if rows[j][3] in inserted for code, details in flags],
                ignore_conflicts=True,
            )
        accepted_rows = [row for row in rows if row[3] in inserted]
        updates = {"last_seen_at": received_at}
        if high > stream.last_seq:
            updates["last_seq"] = high
        if accepted_rows:
            latest = max(row[4] for row in accepted_rows)
            if stream.last_event_at is None or latest > stream.last_event_at:
                updates["last_event_at"] = latest
            updates["events_total"] = stream.events_total + len(accepted_rows)
        DeviceStream.objects.filter(pk=stream.pk).update(**updates)
        if credential.last_used_at is None or received_at - credential.last_used_at > timedelta(seconds=60):
            DeviceCredential.objects.filter(pk=credential.pk).update(last_used_at=received_at)
    for ev, (status, reason) in zip(events, statuses, strict=True):
        item = {"seq": ev["seq"], "idempotency_key": ev["idempotency_key"], "status": status}
        if reason:
            item["reason"] = reason
        out.results.append(item)
        if status == "accepted":
            out.accepted += 1
        elif status == "duplicate":
            out.duplicate += 1
        else:
            out.rejected += 1
    out.last_seq = max(high, stream.last_seq)
    out.event_ids = sorted(inserted.values())
    return out

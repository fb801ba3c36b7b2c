"""Request signing, exactly as `docs/telemetry-protocol.md` specifies.

signature = "v1=" + hex(HMAC-SHA256(secret, f"{timestamp}.".encode() + raw_body))
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

SIGNATURE_VERSION = "v1"
HEADER_KEY_ID = "X-MedRWA-Key-Id"
HEADER_TIMESTAMP = "X-MedRWA-Timestamp"
HEADER_SIGNATURE = "X-MedRWA-Signature"
TOLERANCE_S = 300


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """Return the `X-MedRWA-Signature` value for `body` signed at `timestamp`."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError("timestamp must be an int (Unix seconds)")
    message = str(timestamp).encode("ascii") + b"." + _as_bytes(body)
    digest = hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(*, key_id: str, secret: str | bytes, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """All headers for one signed request (Content-Type included)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        HEADER_KEY_ID: key_id,
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: sign(secret, ts, body),
    }


def verify(
    *,
    secrets: Iterable[str | bytes],
    timestamp: str,
    signature: str,
    body: bytes,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> str | None:
    """Check a signature like the platform does. Returns None when valid, else an error code
    (`timestamp_stale`, `timestamp_future`, `signature_invalid`). Handy for test servers."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return "signature_invalid"
    current = time.time() if now is None else now
    if ts < current - tolerance_s:
        return "timestamp_stale"
    if ts > current + tolerance_s:
        return "timestamp_future"
    ok = False
    for secret in secrets:
        # Check every secret (no early exit) so timing does not reveal which one matched.
        ok |= hmac.compare_digest(sign(secret, ts, body), signature or "")
    return None if ok else "signature_invalid"

"""Signed batch upload of spooled events (`docs/telemetry-protocol.md`).

Retries (exponential backoff with jitter, honouring `Retry-After`) only on network
errors, 5xx and 429. Any other 4xx stops the drain with the events kept in the spool:
retrying an unchanged request cannot fix it (401: fix the credentials; 400: the batch is
malformed). A 413 halves the batch size and goes on. Each attempt is signed afresh, so a
long outage never produces a stale timestamp.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from agent import PROTOCOL_PATH
from agent.events import Event, encode_body
from agent.signing import signed_headers
from agent.spool import Spool

log = logging.getLogger("medrwa.agent.uploader")
RETRY_AFTER_CEILING_S = 600.0

MAX_BATCH = 1000
ACK_STATUSES = ("accepted", "duplicate", "rejected")


def endpoint_url(url: str) -> str:
    """Accept the platform's base URL or the full endpoint."""
    base = url.rstrip("/")
    return base if base.endswith(PROTOCOL_PATH) else base + PROTOCOL_PATH


@dataclass
class BatchOutcome:
    kind: str  # "ok" | "empty" | "retry" | "fatal"
    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    status_code: int | None = None
    error: str | None = None
    retry_after_s: float | None = None
    acked: int = 0


@dataclass
class DrainReport:
    batches: int = 0
    attempts: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    fatal: BatchOutcome | None = None
    stopped: bool = False
    outcomes: list[BatchOutcome] = field(default_factory=list)

    @property
    def acked(self) -> int:
        return self.accepted + self.duplicate + self.rejected


class Uploader:
    def __init__(
        self,
        *,
        url: str,
        key_id: str,
        secret: str,
        spool: Spool,
        batch_size: int = 500,
        timeout_s: float = 30.0,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 300.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
        if not key_id or not secret:
            raise ValueError("key_id and secret are required")
        self.url = endpoint_url(url)
        self.key_id = key_id
        self._secret = secret
        self.spool = spool
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.session = session or requests.Session()
        self.clock = clock
        # Jitter only spreads retries of many devices apart; it is not security-relevant.
        self.rng = rng or random.Random()  # noqa: S311

    def __repr__(self) -> str:  # never show the secret
        return f"Uploader(url={self.url!r}, key_id={self.key_id!r}, batch_size={self.batch_size})"

    # -- one HTTP attempt ---------------------------------------------------------------

    def post(self, events: list[Event]) -> requests.Response:
        body = encode_body(events)
        headers = signed_headers(key_id=self.key_id, secret=self._secret, body=body, timestamp=int(self.clock()))
        return self.session.post(self.url, data=body, headers=headers, timeout=self.timeout_s)

    def upload_batch(self) -> BatchOutcome:
        events = self.spool.pending(self.batch_size)
        if not events:
            return BatchOutcome("empty")
        seqs = [e.seq for e in events]
        try:
            response = self.post(events)
        except requests.RequestException as exc:
            error = f"network: {type(exc).__name__}: {exc}"
            self._note(error, seqs)
            return BatchOutcome("retry", sent=len(events), error=error)
        code = response.status_code
        if code == 200:
            return self._handle_ok(events, response)
        detail = _error_detail(response)
        error = f"HTTP {code}{': ' + detail if detail else ''}"
        self._note(error, seqs)
        if code == 429 or code >= 500:
            return BatchOutcome(
                "retry", sent=len(events), status_code=code, error=error, retry_after_s=_retry_after(response)
            )
        if code == 413 and self.batch_size > 1:
            self.batch_size = max(1, self.batch_size // 2)
            log.warning("platform refused the batch as too large; batch size now %d", self.batch_size)
            return BatchOutcome("ok", sent=len(events), status_code=code, error=error)
        if code == 401:
            log.error(
                "upload refused (%s): fix the device credentials (key id %s); %d event(s) kept in the spool",
                error,
                self.key_id,
                self.spool.depth(),
            )
        else:
            log.error("upload refused (%s); events kept in the spool, not retrying", error)
        return BatchOutcome("fatal", sent=len(events), status_code=code, error=error)

    def _note(self, error: str, seqs: list[int]) -> None:
        self.spool.mark_attempt(seqs, error)
        self.spool.set_meta("last_upload_status", error)
        self.spool.set_meta("last_upload_attempt_at", _now_iso())

    def _handle_ok(self, events: list[Event], response: requests.Response) -> BatchOutcome:
        by_seq = {e.seq: e for e in events}
        try:
            payload = response.json()
            results = payload["results"]
            if not isinstance(results, list):
                raise TypeError("results is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            error = f"unreadable 200 response: {exc}"
            self._note(error, list(by_seq))
            return BatchOutcome("retry", sent=len(events), status_code=200, error=error)
        done: list[int] = []
        rejected: dict[int, str] = {}
        counts = dict.fromkeys(ACK_STATUSES, 0)
        for item in results:
            if not isinstance(item, dict):
                continue
            seq, status = item.get("seq"), item.get("status")
            event = by_seq.get(seq) if isinstance(seq, int) else None
            if event is None or status not in ACK_STATUSES:
                continue
            if item.get("idempotency_key") not in (None, event.idempotency_key):
                log.warning(
                    "result for seq %s names key %r, expected %r; keeping the event",
                    seq,
                    item.get("idempotency_key"),
                    event.idempotency_key,
                )
                continue
            counts[status] += 1
            done.append(seq)
            if status == "rejected":
                reason = str(item.get("reason") or "rejected")
                rejected[seq] = reason
                log.warning(
                    "event seq=%s key=%s rejected by the platform: %s; dropped", seq, event.idempotency_key, reason
                )
        self.spool.remove(done, rejected=rejected)
        missing = len(events) - len(done)
        summary = (
            f"HTTP 200 accepted={counts['accepted']} duplicate={counts['duplicate']} rejected={counts['rejected']}"
        )
        if missing:
            summary += f" unacknowledged={missing}"
            log.warning("platform did not acknowledge %d event(s); they stay spooled", missing)
        self.spool.set_meta("last_upload_status", summary)
        self.spool.set_meta("last_upload_attempt_at", _now_iso())
        if done:
            self.spool.set_meta("last_upload_at", _now_iso())
            self.spool.set_meta("last_acked_seq", str(max(done)))
        log.info("uploaded %d event(s): %s", len(events), summary)
        return BatchOutcome(
            "ok" if done else "retry",
            sent=len(events),
            status_code=200,
            accepted=counts["accepted"],
            duplicate=counts["duplicate"],
            rejected=counts["rejected"],
            acked=len(done),
            error=None if done else "no event acknowledged",
        )

    # -- retry loop ---------------------------------------------------------------------

    def backoff_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Exponential backoff with 'equal jitter': half fixed, half random."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * (2 ** min(attempt, 30)))
        delay = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        if retry_after_s is not None:
            # The platform knows when its window reopens; retrying sooner only spends the next
            # window's budget. Our own cap does not shorten it, a sanity ceiling does.
            delay = max(delay, min(retry_after_s, RETRY_AFTER_CEILING_S))
        return delay

    def drain(
        self,
        *,
        stop: threading.Event | None = None,
        max_batches: int | None = None,
        give_up_after_s: float | None = None,
    ) -> DrainReport:
        """Upload until the spool is empty, a non-retryable error occurs, `stop` is set,
        `max_batches` succeeded, or retrying has gone on for `give_up_after_s`."""
        stop = stop or threading.Event()
        report = DrainReport()
        failures = 0
        failing_since: float | None = None
        while not stop.is_set():
            if max_batches is not None and report.batches >= max_batches:
                break
            outcome = self.upload_batch()
            report.attempts += 1
            if outcome.kind == "empty":
                break
            report.outcomes.append(outcome)
            if outcome.kind == "ok":
                failures, failing_since = 0, None
                report.batches += 1
                report.accepted += outcome.accepted
                report.duplicate += outcome.duplicate
                report.rejected += outcome.rejected
                continue
            if outcome.kind == "fatal":
                report.fatal = outcome
                break
            failing_since = failing_since or time.monotonic()
            if give_up_after_s is not None and time.monotonic() - failing_since > give_up_after_s:
                break
            delay = self.backoff_s(failures, outcome.retry_after_s)
            failures += 1
            log.warning("upload failed (%s); retry %d in %.1f s", outcome.error, failures, delay)
            stop.wait(delay)
        report.stopped = stop.is_set()
        return report


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_detail(response: requests.Response) -> str:
    try:
        err = response.json().get("error", {})
        return f"{err.get('code', '')} {err.get('message', '')}".strip()
    except (ValueError, AttributeError):
        return response.text[:200].strip()


def build_uploader(
    *,
    url: str,
    key_id: str,
    secret: str,
    spool_path: str | Path | None = None,
    spool: Spool | None = None,
    **kwargs: Any,
) -> Uploader:
    """An uploader pointing at a live platform (`url` = base URL or full endpoint).
    Pass an open `spool` or a `spool_path` (created if missing)."""
    if spool is None:
        if spool_path is None:
            raise ValueError("spool or spool_path is required")
        spool = Spool(spool_path)
    return Uploader(url=url, key_id=key_id, secret=secret, spool=spool, **kwargs)

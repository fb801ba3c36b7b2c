"""JSON-lines file source, for devices with neither MPPS nor an NVIDIA GPU.

Each line is one object:

    {"kind": "procedure", "idempotency_key": "<SOP Instance UID>", "occurred_at": "...Z",
     "data": {...same fields as the wire protocol...}}
    {"kind": "heartbeat", "occurred_at": "...Z", "data": {"uptime_s": 3600, ...}}

Heartbeats without a key get `hb-<device>-<seq>`. The read offset is stored in the spool
database and advanced in the same transaction that spools the line's event, so a restart
neither loses nor repeats a line. A line without its trailing newline is still being
written and waits for the next poll. A file that shrinks or is replaced (new inode) is read
again from the start. Numbers with a fraction are parsed as Decimal, never float.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.events import KINDS, EventError, parse_ts
from agent.spool import Spool

log = logging.getLogger("medrwa.agent.jsonl")


def spool_record(spool: Spool, record: Any, *, device_id: str) -> int:
    """Validate one decoded JSON object and spool it; returns its seq."""
    if not isinstance(record, dict):
        raise EventError("line is not a JSON object")
    kind = record.get("kind")
    if kind not in KINDS:
        raise EventError(f"kind must be one of {KINDS}")
    data = record.get("data")
    if not isinstance(data, dict):
        raise EventError("data must be an object")
    occurred = record.get("occurred_at") or (data.get("ended_at") if kind == "procedure" else None)
    if not occurred:
        raise EventError("occurred_at is required")
    when = parse_ts(str(occurred))
    key = record.get("idempotency_key")
    if kind == "procedure" and not key:
        raise EventError("a procedure needs its idempotency_key (the MPPS SOP Instance UID)")
    return spool.append(
        kind=kind,
        data=data,
        occurred_at=when,
        idempotency_key=str(key) if key else (lambda seq: f"hb-{device_id}-{seq}"),
    )


class JsonlTailer:
    def __init__(self, path: str | Path, spool: Spool, *, device_id: str) -> None:
        self.path = Path(path)
        self.spool = spool
        self.device_id = device_id
        self._meta_key = f"jsonl_offset:{self.path.resolve()}"
        self.skipped = 0

    def _position(self) -> tuple[int, int]:
        raw = self.spool.get_meta(self._meta_key, "0:0") or "0:0"
        inode, _, offset = raw.partition(":")
        return int(inode), int(offset)

    def poll(self) -> int:
        """Spool every complete new line; returns how many events were spooled."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return 0
        inode, offset = self._position()
        if inode != st.st_ino or st.st_size < offset:
            if inode:
                log.info("%s was replaced or truncated; reading from the start", self.path)
            inode, offset = st.st_ino, 0
        if st.st_size == offset:
            return 0
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            chunk = fh.read(st.st_size - offset)
        spooled = 0
        position = offset
        with self.spool.transaction():
            for raw in chunk.splitlines(keepends=True):
                if not raw.endswith(b"\n"):
                    break  # partial line: the writer has not finished it
                position += len(raw)
                line = raw.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line, parse_float=Decimal)
                    spool_record(self.spool, record, device_id=self.device_id)
                    spooled += 1
                except (ValueError, EventError) as exc:
                    self.skipped += 1
                    log.warning("%s: skipped invalid line at byte %d: %s", self.path, position - len(raw), exc)
            self.spool.set_meta(self._meta_key, f"{inode}:{position}")
        return spooled

    def run(self, stop: threading.Event, *, interval_s: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.poll()
            except Exception:
                log.exception("reading %s failed", self.path)
            stop.wait(interval_s)

"""Local SQLite spool: nothing is lost while the platform is unreachable.

- WAL journal, `synchronous=FULL`: an event is on disk once `append` returns, so a killed
  agent resumes exactly where it left off.
- `seq` comes from a counter stored in the same database and is allocated inside the
  inserting transaction (`BEGIN IMMEDIATE`), so it is strictly increasing in production
  order and never reused, even after events are deleted or across processes.
- Events leave the spool only when the platform has answered accepted / duplicate /
  rejected for them (`remove`); rejected ones are copied to a dead-letter table first.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.events import Event, dumps, format_ts, normalize_data, parse_ts

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    occurred_at TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    data TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS mpps_steps (
    uid TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    attrs TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""

KeySpec = str | Callable[[int], str]


class Spool:
    def __init__(self, path: str | Path, *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._enable_wal(timeout_s)
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        with self.transaction():
            for statement in filter(None, (s.strip() for s in SCHEMA.split(";"))):
                self._conn.execute(statement)
            self._conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('next_seq', '1')")

    def _enable_wal(self, timeout_s: float) -> None:
        # Switching a new file to WAL needs an exclusive lock, and SQLite answers "locked" at
        # once (no busy handler) when another process or thread opens the same spool at that
        # moment (MPPS receiver and uploader start together): retry until the timeout.
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # -- plumbing ---------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested uses join the outer one (all or nothing)."""
        with self._lock:
            if self._depth == 0:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("COMMIT")

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # -- meta ---------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- events -------------------------------------------------------------------------

    def append(
        self,
        *,
        kind: str,
        data: dict[str, Any],
        occurred_at: datetime | str,
        idempotency_key: KeySpec,
    ) -> int:
        """Store one event and return its seq. An event whose idempotency key is already
        waiting in the spool is not stored twice (the existing seq is returned).
        `idempotency_key` may be a callable receiving the new seq (heartbeats:
        `hb-<device>-<seq>`)."""
        clean = normalize_data(kind, data)
        when = format_ts(occurred_at if isinstance(occurred_at, datetime) else parse_ts(occurred_at))
        with self.transaction() as conn:
            if isinstance(idempotency_key, str):
                row = conn.execute("SELECT seq FROM events WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
                if row is not None:
                    return int(row["seq"])
            seq = int(conn.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0])
            key = idempotency_key(seq) if callable(idempotency_key) else idempotency_key
            if not key:
                raise ValueError("empty idempotency key")
            conn.execute(
                "INSERT INTO events(seq, kind, idempotency_key, occurred_at, data, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (seq, kind, key, when, dumps(clean).decode("utf-8"), time.time()),
            )
            conn.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (str(seq + 1),))
            return seq

    def pending(self, limit: int = 500) -> list[Event]:
        rows = self._read(
            "SELECT seq, kind, idempotency_key, occurred_at, data FROM events ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [
            Event(
                seq=int(r["seq"]),
                kind=r["kind"],
                idempotency_key=r["idempotency_key"],
                occurred_at=r["occurred_at"],
                data=json.loads(r["data"], parse_float=Decimal),
            )
            for r in rows
        ]

    def remove(self, seqs: Iterable[int], *, rejected: dict[int, str] | None = None) -> int:
        """Delete acknowledged events; those in `rejected` (seq → reason) are kept in the
        dead-letter table for inspection."""
        seq_list = list(seqs)
        rejected = rejected or {}
        with self.transaction() as conn:
            for seq, reason in rejected.items():
                conn.execute(
                    "INSERT OR REPLACE INTO rejected(seq, kind, idempotency_key, occurred_at,"
                    " data, reason, rejected_at) SELECT seq, kind, idempotency_key,"
                    " occurred_at, data, ?, ? FROM events WHERE seq = ?",
                    (reason, time.time(), seq),
                )
            removed = 0
            for seq in seq_list:
                removed += conn.execute("DELETE FROM events WHERE seq = ?", (seq,)).rowcount
            return removed

    def mark_attempt(self, seqs: Iterable[int], error: str | None) -> None:
        with self.transaction() as conn:
            for seq in seqs:
                conn.execute(
                    "UPDATE events SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                    (error, seq),
                )

    def depth(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM events")[0][0])

    def last_seq(self) -> int:
        """The last seq ever allocated (0 when none)."""
        return int(self.get_meta("next_seq", "1") or 1) - 1

    def rejected(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._read("SELECT * FROM rejected ORDER BY seq")]

    def stats(self) -> dict[str, Any]:
        row = self._read("SELECT COUNT(*), MIN(seq), MAX(seq), MIN(occurred_at) FROM events")[0]
        return {
            "spool": str(self.path),
            "depth": int(row[0]),
            "oldest_pending_seq": row[1],
            "newest_pending_seq": row[2],
            "oldest_pending_at": row[3],
            "last_seq": self.last_seq(),
            "rejected_total": int(self._read("SELECT COUNT(*) FROM rejected")[0][0]),
            "last_upload_at": self.get_meta("last_upload_at"),
            "last_upload_status": self.get_meta("last_upload_status"),
            "last_acked_seq": self.get_meta("last_acked_seq"),
        }

    # -- MPPS steps (kept here so an in-progress step survives a restart) --------------

    def step_get(self, uid: str) -> dict[str, Any] | None:
        rows = self._read("SELECT uid, status, attrs FROM mpps_steps WHERE uid = ?", (uid,))
        if not rows:
            return None
        return {"uid": rows[0]["uid"], "status": rows[0]["status"], "attrs": json.loads(rows[0]["attrs"])}

    def step_put(self, uid: str, status: str, attrs: dict[str, Any], *, create: bool) -> bool:
        """Insert (create=True; False if the uid exists) or update a step."""
        now = time.time()
        payload = json.dumps(attrs)
        with self.transaction() as conn:
            if create:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO mpps_steps(uid, status, attrs, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (uid, status, payload, now, now),
                )
            else:
                cur = conn.execute(
                    "UPDATE mpps_steps SET status = ?, attrs = ?, updated_at = ? WHERE uid = ?",
                    (status, payload, now, uid),
                )
            return cur.rowcount == 1

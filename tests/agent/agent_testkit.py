"""Helpers and fixtures for the agent tests: no Django, only the standard library + the agent.

Not a conftest.py on purpose: test modules import the fixtures they use, so the suite also
runs with `--noconftest` (the repository's root conftest loads Django fixtures)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

KEY_ID = "dk_test_1"
SECRET = "s3cr3t-Very-Long-Test-Secret-Value"


class IngestServer:
    """A tiny stand-in for POST /api/v1/telemetry/batches, written from the protocol
    document (independent of agent.signing)."""

    def __init__(self, port: int = 0) -> None:
        self.secrets = {KEY_ID: [SECRET]}
        self.script: list[int] = []  # status codes to answer before behaving normally
        self.requests: list[dict[str, Any]] = []
        self.stored: dict[str, dict[str, Any]] = {}  # idempotency_key -> event
        self.max_seq = 0
        self.lock = threading.Lock()
        self.reject_keys: set[str] = set()
        self.errors: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                code, payload = server.handle(self.path, dict(self.headers), body)
                raw = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> IngestServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            if path != "/api/v1/telemetry/batches":
                return 404, {"error": {"code": "not_found"}}
            if self.script:
                code = self.script.pop(0)
                return code, {"error": {"code": f"scripted_{code}", "message": "scripted"}}
            key_id = headers.get("X-MedRWA-Key-Id", "")
            ts = headers.get("X-MedRWA-Timestamp", "")
            sig = headers.get("X-MedRWA-Signature", "")
            if key_id not in self.secrets:
                return 401, {"error": {"code": "unknown_key", "message": "", "details": {}}}
            if abs(time.time() - int(ts)) > 300:
                return 401, {"error": {"code": "timestamp_stale", "message": "", "details": {}}}
            good = any(
                hmac.compare_digest(
                    "v1=" + hmac.new(s.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest(), sig
                )
                for s in self.secrets[key_id]
            )
            if not good:
                self.errors.append("bad signature")
                return 401, {"error": {"code": "signature_invalid", "message": "", "details": {}}}
            events = json.loads(body)["events"]
            if not 1 <= len(events) <= 1000:
                return 413, {"error": {"code": "too_large", "message": "", "details": {}}}
            results = []
            for ev in events:
                key, seq = ev["idempotency_key"], ev["seq"]
                if key in self.reject_keys:
                    status = "rejected"
                elif key in self.stored:
                    status = "duplicate"
                elif seq <= self.max_seq:
                    status = "rejected"
                else:
                    status = "accepted"
                    self.stored[key] = ev
                    self.max_seq = seq
                item = {"seq": seq, "idempotency_key": key, "status": status}
                if status == "rejected":
                    item["reason"] = "invalid: test"
                results.append(item)
            counts = {s: sum(r["status"] == s for r in results) for s in ("accepted", "duplicate", "rejected")}
            return 200, {"results": results, **counts, "last_seq": self.max_seq}


@pytest.fixture(name="ingest")
def ingest_fixture() -> Iterator[IngestServer]:
    server = IngestServer().start()
    yield server
    server.stop()


@pytest.fixture(name="spool")
def spool_fixture(tmp_path: Any) -> Iterator[Any]:
    from agent.spool import Spool

    s = Spool(tmp_path / "spool.db")
    yield s
    s.close()


def procedure(uid: str, minute: int = 0) -> dict[str, Any]:
    return {
        "modality": "CT",
        "cpt_code": "74177",
        "status": "COMPLETED",
        "reason_code": None,
        "started_at": f"2026-11-29T10:{minute:02d}:00Z",
        "ended_at": f"2026-11-29T10:{minute + 10:02d}:00Z",
        "series_count": 3,
        "image_count": 812,
        "dlp_mgycm": "612.4",
        "ctdivol_mgy": "11.2",
        "gpu_seconds": "95.5",
        "gpu_energy_j": "31200.0",
        "station_ae": "CT01",
    }

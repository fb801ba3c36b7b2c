"""Uploader against a local HTTP server that checks signatures like the platform."""

import json
import random
import socket
import threading
import time

import pytest
import requests
from agent_testkit import (  # noqa: F401
    KEY_ID,
    SECRET,
    IngestServer,
    ingest_fixture,
    procedure,
    spool_fixture,
)

from agent.uploader import Uploader, build_uploader, endpoint_url


def fill(spool, n, start=0):
    for i in range(start, start + n):
        spool.append(
            kind="procedure", data=procedure(f"1.2.{i}"), occurred_at="2026-11-29T10:10:00Z", idempotency_key=f"1.2.{i}"
        )


def make(spool, url, **kw):
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("backoff_cap_s", 0.05)
    kw.setdefault("timeout_s", 2)
    return Uploader(url=url, key_id=KEY_ID, secret=SECRET, spool=spool, rng=random.Random(1), **kw)


def test_endpoint_url():
    assert endpoint_url("https://x.example/") == "https://x.example/api/v1/telemetry/batches"
    assert endpoint_url("https://x.example/api/v1/telemetry/batches") == ("https://x.example/api/v1/telemetry/batches")


def test_signed_batches_and_spool_emptied(ingest, spool):
    fill(spool, 7)
    report = make(spool, ingest.url, batch_size=3).drain()
    assert report.accepted == 7 and report.batches == 3
    assert spool.depth() == 0
    assert ingest.errors == []
    bodies = [json.loads(r["body"]) for r in ingest.requests]
    assert [len(b["events"]) for b in bodies] == [3, 3, 1]
    assert [e["seq"] for b in bodies for e in b["events"]] == list(range(1, 8))
    first = bodies[0]["events"][0]
    assert first["data"]["gpu_energy_j"] == "31200.0"  # Decimal as string
    assert spool.stats()["last_acked_seq"] == "7"


def test_500_then_200_backs_off_and_resigns(ingest, spool):
    fill(spool, 2)
    ingest.script = [500, 503, 429]
    up = make(spool, ingest.url)
    sleeps = []
    orig = up.backoff_s
    up.backoff_s = lambda attempt, ra=None: sleeps.append(orig(attempt, ra)) or sleeps[-1]
    report = up.drain()
    assert report.accepted == 2 and spool.depth() == 0
    assert len(ingest.requests) == 4
    assert len(sleeps) == 3 and sleeps[0] < sleeps[1] <= sleeps[2] + 0.05
    for r in ingest.requests:  # every attempt carries a valid signature
        assert r["headers"]["X-MedRWA-Signature"].startswith("v1=")


def test_backoff_grows_with_jitter_and_cap(spool):
    up = make(spool, "http://127.0.0.1:9", backoff_base_s=1, backoff_cap_s=60)
    delays = [up.backoff_s(n) for n in range(10)]
    for n, d in enumerate(delays):
        ceiling = min(60, 2**n)
        assert ceiling / 2 <= d <= ceiling
    assert up.backoff_s(0, retry_after_s=5) >= 5


def test_retry_after_is_honoured_beyond_the_backoff_cap(spool):
    # A 429's Retry-After says when the platform's window reopens; a short cap must not undercut it.
    up = make(spool, "http://127.0.0.1:9", backoff_base_s=0.05, backoff_cap_s=0.5)
    assert up.backoff_s(0, retry_after_s=42) == 42
    assert up.backoff_s(0, retry_after_s=10**6) == 600


@pytest.mark.parametrize("code", [400, 401, 403])
def test_no_retry_on_4xx_events_kept(ingest, spool, code):
    fill(spool, 3)
    ingest.script = [code]
    report = make(spool, ingest.url).drain()
    assert report.fatal is not None and report.fatal.status_code == code
    assert len(ingest.requests) == 1
    assert spool.depth() == 3


def test_wrong_secret_is_401_and_never_logged(ingest, spool, caplog):
    fill(spool, 1)
    up = Uploader(url=ingest.url, key_id=KEY_ID, secret="wrong-secret-value-123", spool=spool)
    with caplog.at_level("DEBUG"):
        report = up.drain()
    assert report.fatal.status_code == 401 and "signature_invalid" in report.fatal.error
    assert spool.depth() == 1
    assert "wrong-secret-value-123" not in caplog.text
    assert "wrong-secret-value-123" not in repr(up)


def test_413_halves_batch(ingest, spool):
    fill(spool, 4)
    ingest.script = [413]
    up = make(spool, ingest.url, batch_size=4)
    report = up.drain()
    assert up.batch_size == 2 and report.accepted == 4 and spool.depth() == 0


def test_rejected_dropped_duplicates_acknowledged(ingest, spool):
    fill(spool, 3)
    ingest.reject_keys = {"1.2.1"}
    ingest.stored["1.2.2"] = {}
    report = make(spool, ingest.url).drain()
    assert (report.accepted, report.duplicate, report.rejected) == (1, 1, 1)
    assert spool.depth() == 0
    assert [r["idempotency_key"] for r in spool.rejected()] == ["1.2.1"]


def test_server_down_then_back_every_event_exactly_once(spool):
    # Reserve a port, keep it closed (connection refused) while events pile up.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    up = make(spool, f"http://127.0.0.1:{port}", batch_size=10)
    stop = threading.Event()
    producer_done = threading.Event()

    def produce():
        for i in range(40):
            fill(spool, 1, start=i)
            time.sleep(0.005)
        producer_done.set()

    uploader_thread = threading.Thread(target=lambda: up.drain(stop=stop, give_up_after_s=30))
    producer = threading.Thread(target=produce)
    producer.start()
    uploader_thread.start()
    time.sleep(0.4)  # down for a while: uploader keeps backing off
    server = IngestServer(port=port).start()
    # Lose the first response after storing: the agent must resend, the server dedups.
    original = server.handle
    lost = []

    def flaky(path, headers, body):
        code, payload = original(path, headers, body)
        if not lost:
            lost.append(1)
            return 502, {"error": {"code": "bad_gateway"}}
        return code, payload

    server.handle = flaky
    try:
        producer.join()
        deadline = time.time() + 10
        while (spool.depth() or not producer_done.is_set()) and time.time() < deadline:
            if not uploader_thread.is_alive():
                uploader_thread = threading.Thread(target=up.drain)
                uploader_thread.start()
            time.sleep(0.02)
        stop.set()
        uploader_thread.join(5)
        assert spool.depth() == 0
        assert sorted(server.stored) == sorted(f"1.2.{i}" for i in range(40))
        seqs = [e["seq"] for e in server.stored.values()]
        assert sorted(seqs) == list(range(1, 41))
        sent = [e["idempotency_key"] for r in server.requests for e in json.loads(r["body"])["events"]]
        assert len(sent) > 40  # the lost response forced a resend ...
        assert server.errors == []  # ... and every request was correctly signed
    finally:
        server.stop()


def test_build_uploader_against_live_url(ingest, tmp_path):
    up = build_uploader(url=ingest.url, key_id=KEY_ID, secret=SECRET, spool_path=tmp_path / "x.db")
    up.spool.append(
        kind="heartbeat",
        data={"uptime_s": 1},
        occurred_at="2026-11-29T10:00:00Z",
        idempotency_key=lambda s: f"hb-x-{s}",
    )
    assert up.drain().accepted == 1
    up.spool.close()


def test_network_error_is_retried(spool):
    fill(spool, 1)
    session = requests.Session()
    calls = []

    def boom(*a, **kw):
        calls.append(1)
        raise requests.ConnectionError("down")

    session.post = boom
    up = make(spool, "http://127.0.0.1:9", session=session)
    report = up.drain(give_up_after_s=0.1)
    assert len(calls) >= 2 and report.fatal is None and spool.depth() == 1

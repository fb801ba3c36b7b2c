"""Fail closed at ingest: plausibility on the same clock as revenue, retired devices,
oversized bodies, odd headers and per-key rate limits."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from telemetry.ingest import ingest_batch
from telemetry.models import FlagCode, PlausibilityFlag, TelemetryEvent
from tests.fixtures.telemetry import heartbeat, procedure

pytestmark = pytest.mark.django_db
FMT = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture(autouse=True)
def _fresh_rate_window():
    cache.clear()
    yield
    cache.clear()


def _codes(key):
    return set(PlausibilityFlag.objects.filter(event__idempotency_key=key).values_list("code", flat=True))


def test_completed_procedure_of_zero_length_is_rejected(telemetry_credential):
    ev = procedure(1, minutes=0)
    result = ingest_batch(credential=telemetry_credential.credential, events=[ev])
    assert result.results[0]["status"] == "rejected" and "zero seconds" in result.results[0]["reason"]


def test_procedure_longer_than_the_modality_allows_is_flagged(telemetry_credential):
    ev = procedure(1, minutes=121)  # CT: 120 minutes at most
    ok = procedure(2, minutes=119, end=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5))
    ingest_batch(credential=telemetry_credential.credential, events=[ev, ok])
    assert _codes(ev["idempotency_key"]) == {FlagCode.DURATION}
    assert _codes(ok["idempotency_key"]) == set()


def test_occurred_at_disagreeing_with_the_end_is_flagged_as_clock_skew(telemetry_credential):
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    ev = procedure(1, end=end)
    # Claims to have happened 50 min after its own end: it could land in another revenue month.
    ev["occurred_at"] = (end + timedelta(minutes=50)).strftime(FMT)
    near = procedure(2, end=end - timedelta(hours=1))
    near["occurred_at"] = (end - timedelta(hours=1) + timedelta(seconds=90)).strftime(FMT)
    ingest_batch(credential=telemetry_credential.credential, events=[ev, near])
    assert _codes(ev["idempotency_key"]) == {FlagCode.CLOCK_SKEW}
    assert _codes(near["idempotency_key"]) == set()  # within the 300 s tolerance


def test_retired_device_keys_stop_working(telemetry_credential, post_batch):
    device = telemetry_credential.credential.device
    device.status = "retired"
    device.save(update_fields=["status"])
    r = post_batch(telemetry_credential, [heartbeat(1)])
    assert r.status_code == 401 and r.json()["error"]["code"] == "device_retired"
    assert not TelemetryEvent.objects.exists()


def test_body_over_2_5_mb_is_413_before_parsing(telemetry_credential, post_batch):
    body = b'{"events": [' + b" " * (int(2.5 * 1024 * 1024) + 10) + b"]}"
    r = post_batch(telemetry_credential, body=body)
    assert r.status_code == 413 and r.json()["error"]["code"] == "batch_too_large"
    # Not even valid JSON inside: the size alone answers, before any parsing or signature check.
    r = post_batch(telemetry_credential, body=b"x" * (int(2.5 * 1024 * 1024) + 1), secret="wrong")
    assert r.status_code == 413


def test_non_ascii_signature_header_is_401_not_500(client, telemetry_credential):
    r = client.post("/api/v1/telemetry/batches", data=b'{"events": []}', content_type="application/json",
                    HTTP_X_MEDRWA_KEY_ID=telemetry_credential.credential.key_id,
                    HTTP_X_MEDRWA_TIMESTAMP=str(int(time.time())), HTTP_X_MEDRWA_SIGNATURE="v1=é" * 10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "signature_invalid"


def test_per_key_rate_limit_answers_429(telemetry_credential, post_batch, settings):
    settings.TELEMETRY_BATCHES_PER_MINUTE = 3
    # Stay inside one minute window so the count is not reset mid-test.
    if time.time() % 60 > 55:
        time.sleep(6)
    statuses = [post_batch(telemetry_credential, [heartbeat(i + 1)]).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = post_batch(telemetry_credential, [heartbeat(9)])
    assert r.json()["error"]["code"] == "rate_limited" and r.json()["error"]["details"]["retry_after_s"] <= 60
    assert r["Retry-After"] == str(r.json()["error"]["details"]["retry_after_s"])  # what agents read
    # Bad signatures do not spend the device's budget (counted only after authentication).
    cache.clear()
    for _ in range(5):
        assert post_batch(telemetry_credential, [heartbeat(20)], secret="wrong").status_code == 401
    assert post_batch(telemetry_credential, [heartbeat(21)]).status_code == 200

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from agent.events import encode_body
from agent.signing import signed_headers
from telemetry.models import FlagCode, PlausibilityFlag, TelemetryEvent
from telemetry.services import credential_issue, credential_revoke
from tests.fixtures.telemetry import heartbeat, procedure

pytestmark = pytest.mark.django_db


def statuses(response):
    return [r["status"] for r in response.json()["results"]]


def test_signed_batch_is_accepted_and_stored(telemetry_credential, post_batch):
    r = post_batch(telemetry_credential, [procedure(1, key="1.2.3.4"), heartbeat(2)])
    assert r.status_code == 200, r.content
    body = r.json()
    assert statuses(r) == ["accepted", "accepted"]
    assert body["accepted"] == 2 and body["last_seq"] == 2
    ev = TelemetryEvent.objects.get(idempotency_key="1.2.3.4")
    assert ev.kind == "procedure" and ev.status == "COMPLETED" and ev.cpt_code == "74177"
    assert str(ev.gpu_seconds) == "95.500" and ev.data["image_count"] == 812


def test_session_and_csrf_are_not_involved(telemetry_credential):
    body = encode_body([heartbeat(1)])
    headers = signed_headers(key_id=telemetry_credential.credential.key_id, secret=telemetry_credential.secret,
                             body=body)
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"}
    r = Client(enforce_csrf_checks=True).post("/api/v1/telemetry/batches", data=body,
                                              content_type="application/json", **extra)
    assert r.status_code == 200


def test_tampered_body_is_refused(telemetry_credential, post_batch, client):
    body = encode_body([procedure(1, gpu_s="10.0", energy="3000.0")])
    headers = signed_headers(key_id=telemetry_credential.credential.key_id, secret=telemetry_credential.secret,
                             body=body)
    tampered = body.replace(b'"gpu_seconds":"10.0"', b'"gpu_seconds":"99.0"')
    assert tampered != body
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"}
    r = client.post("/api/v1/telemetry/batches", data=tampered, content_type="application/json", **extra)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "signature_invalid"
    assert not TelemetryEvent.objects.exists()


@pytest.mark.parametrize(("offset", "code"), [(-301, "timestamp_stale"), (301, "timestamp_future")])
def test_timestamps_outside_300s_are_refused_both_ways(telemetry_credential, post_batch, offset, code):
    r = post_batch(telemetry_credential, [heartbeat(1)], timestamp=int(time.time()) + offset)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == code


def test_timestamps_inside_the_window_are_fine(telemetry_credential, post_batch):
    assert post_batch(telemetry_credential, [heartbeat(1)], timestamp=int(time.time()) - 290).status_code == 200
    assert post_batch(telemetry_credential, [heartbeat(2)], timestamp=int(time.time()) + 290).status_code == 200


def test_unknown_key_and_wrong_secret(telemetry_credential, post_batch):
    r = post_batch(telemetry_credential, [heartbeat(1)], key_id="dk_doesnotexist")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "unknown_key")
    r = post_batch(telemetry_credential, [heartbeat(1)], secret="not-the-secret")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "signature_invalid")


def test_revoked_key_is_refused(telemetry_credential, post_batch, clinic_admin):
    credential_revoke(actor=clinic_admin, credential=telemetry_credential.credential, reason="stolen")
    r = post_batch(telemetry_credential, [heartbeat(1)])
    assert (r.status_code, r.json()["error"]["code"]) == (401, "key_revoked")


def test_rotation_keeps_two_secrets_and_a_third_retires_the_oldest(telemetry_credential, post_batch, clinic_admin,
                                                                  telemetry_device):
    second = credential_issue(actor=clinic_admin, device=telemetry_device)
    assert post_batch(telemetry_credential, [heartbeat(1)]).status_code == 200
    assert post_batch(second, [heartbeat(2)]).status_code == 200
    third = credential_issue(actor=clinic_admin, device=telemetry_device)
    r = post_batch(telemetry_credential, [heartbeat(3)])
    assert (r.status_code, r.json()["error"]["code"]) == (401, "key_revoked")
    assert post_batch(second, [heartbeat(3)]).status_code == 200
    assert post_batch(third, [heartbeat(4)]).status_code == 200


def test_retried_batch_changes_nothing(telemetry_credential, post_batch):
    events = [procedure(1), procedure(2, end=datetime.now(UTC) - timedelta(hours=3)), heartbeat(3)]
    assert statuses(post_batch(telemetry_credential, events)) == ["accepted"] * 3
    before = list(TelemetryEvent.objects.order_by("id").values_list("id", "idempotency_key", "seq"))
    r = post_batch(telemetry_credential, events)
    assert statuses(r) == ["duplicate"] * 3
    assert r.json()["duplicate"] == 3
    assert list(TelemetryEvent.objects.order_by("id").values_list("id", "idempotency_key", "seq")) == before


def test_replayed_seq_with_new_key_is_rejected(telemetry_credential, post_batch):
    post_batch(telemetry_credential, [heartbeat(1), heartbeat(2)])
    r = post_batch(telemetry_credential, [procedure(2, key="1.2.9.9"), heartbeat(3)])
    assert statuses(r) == ["rejected", "accepted"]
    assert "replay" in r.json()["results"][0]["reason"]
    assert not TelemetryEvent.objects.filter(idempotency_key="1.2.9.9").exists()


def test_out_of_sequence_batch_is_rejected_and_duplicate_key_in_batch(telemetry_credential, post_batch):
    post_batch(telemetry_credential, [heartbeat(5)])
    r = post_batch(telemetry_credential, [procedure(3), procedure(4, key="k-a"), procedure(6, key="k-a")])
    assert statuses(r) == ["rejected", "rejected", "duplicate"]


def test_same_key_later_seq_is_a_duplicate(telemetry_credential, post_batch):
    post_batch(telemetry_credential, [procedure(1, key="1.2.3")])
    r = post_batch(telemetry_credential, [procedure(2, key="1.2.3")])
    assert statuses(r) == ["duplicate"]
    assert TelemetryEvent.objects.count() == 1


def test_sequence_gap_is_accepted_and_flagged(telemetry_credential, post_batch):
    post_batch(telemetry_credential, [heartbeat(1)])
    r = post_batch(telemetry_credential, [procedure(5, key="1.2.5")])
    assert statuses(r) == ["accepted"]
    flag = PlausibilityFlag.objects.get(code=FlagCode.SEQUENCE_GAP)
    assert flag.event.idempotency_key == "1.2.5" and flag.details["missing"] == 3


def test_invalid_event_is_rejected_with_a_reason_others_accepted(telemetry_credential, post_batch):
    bad = procedure(1)
    bad["data"]["gpu_energy_j"] = "-5"
    worse = procedure(2)
    worse["data"]["status"] = "IN PROGRESS"
    r = post_batch(telemetry_credential, [bad, worse, heartbeat(3)])
    assert statuses(r) == ["rejected", "rejected", "accepted"]
    reasons = [x.get("reason", "") for x in r.json()["results"]]
    assert "gpu_energy_j" in reasons[0] and "status" in reasons[1]
    # The rejected seqs were seen: no gap flag for seq 3.
    assert not PlausibilityFlag.objects.exists()


def test_more_than_1000_events_is_413(telemetry_credential, post_batch):
    events = [heartbeat(i) for i in range(1, 1002)]
    r = post_batch(telemetry_credential, events)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "batch_too_large"
    assert not TelemetryEvent.objects.exists()


def test_exactly_1000_events_is_fine(telemetry_credential, post_batch):
    r = post_batch(telemetry_credential, [heartbeat(i) for i in range(1, 1001)])
    assert r.status_code == 200 and r.json()["accepted"] == 1000


@pytest.mark.parametrize("body", [
    b'{"events": [{"seq": "one", "kind": "heartbeat", "idempotency_key": "x", "occurred_at": "2026-01-01T00:00:00Z",'
    b' "data": {}}]}',
    b'{"events": []}',
    b'{"nothing": 1}',
    b'{"events": [{"seq": 1, "kind": "reboot", "idempotency_key": "x", "occurred_at": "2026-01-01T00:00:00Z",'
    b' "data": {}}]}',
])
def test_schema_errors_are_400_with_the_error_shape(telemetry_credential, post_batch, body):
    r = post_batch(telemetry_credential, body=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "validation_error" and err["message"] and err["details"]


@pytest.mark.parametrize("occurred_at", ["2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00+99:00"])
def test_impossible_occurred_at_is_400_not_500(telemetry_credential, post_batch, occurred_at):
    # Found by scripts/fuzz_api.py: these match the timestamp pattern but cannot be parsed.
    ev = heartbeat(1)
    ev["occurred_at"] = occurred_at
    r = post_batch(telemetry_credential, [ev])
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "validation_error"
    assert not TelemetryEvent.objects.exists()


def test_impossible_procedure_time_rejects_only_that_event(telemetry_credential, post_batch):
    bad = procedure(1)
    bad["data"]["started_at"] = "2026-00-10T08:00:00Z"
    r = post_batch(telemetry_credential, [bad, heartbeat(2)])
    assert r.status_code == 200
    assert statuses(r) == ["rejected", "accepted"]
    assert "started_at" in r.json()["results"][0]["reason"]


def test_malformed_json_is_400(telemetry_credential, post_batch):
    r = post_batch(telemetry_credential, body=b'{"events": [')
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_request"


def test_gpu_energy_inconsistent_is_flagged(telemetry_credential, post_batch):
    # 100 s at 31,200 J would be 312 W: plausible. 100 s at 900,000 J = 9 kW on one GPU: not.
    post_batch(telemetry_credential, [procedure(1, gpu_s="100.0", energy="31200.0"),
                                      procedure(2, gpu_s="100.0", energy="900000.0"),
                                      procedure(3, gpu_s="100.0", energy="50.0")])
    flagged = set(PlausibilityFlag.objects.filter(code=FlagCode.GPU_ENERGY).values_list("event__seq", flat=True))
    assert flagged == {2, 3}


def test_clock_skew_future_and_far_past_are_flagged(telemetry_credential, post_batch):
    future = procedure(1, end=datetime.now(UTC) + timedelta(hours=2))
    ancient = procedure(2, end=datetime.now(UTC) - timedelta(days=90))
    r = post_batch(telemetry_credential, [future, ancient, procedure(3)])
    assert statuses(r) == ["accepted"] * 3
    skew = {f.event.seq: f.details["direction"] for f in PlausibilityFlag.objects.filter(code=FlagCode.CLOCK_SKEW)}
    assert skew == {1: "future", 2: "past"}


def test_openapi_publishes_the_batch_schema(client):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    doc = r.json()
    op = doc["paths"]["/api/v1/telemetry/batches"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["events"]["maxItems"] == 1000
    assert "DeviceSignature" in doc["components"]["securitySchemes"]

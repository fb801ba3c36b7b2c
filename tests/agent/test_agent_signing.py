import hashlib
import hmac

from agent.events import Event, encode_body
from agent.signing import sign, signed_headers, verify

SECRET = "whsec_test_secret"


def reference(secret: str, ts: int, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


def test_signature_matches_an_independent_hmac():
    body = b'{"events":[{"seq":1}]}'
    assert sign(SECRET, 1764410000, body) == reference(SECRET, 1764410000, body)


def test_known_vector():
    # printf '1700000000.{"events":[]}' | openssl dgst -sha256 -hmac key
    expected = "v1=7df62a1bacc5aaabea3fd97f17eb7da317e09d87f25b1933b81d619dfc0e21fb"
    assert sign("key", 1700000000, b'{"events":[]}') == expected


def test_signature_covers_the_exact_raw_body():
    a = sign(SECRET, 1, b'{"a":1}')
    b = sign(SECRET, 1, b'{"a": 1}')
    assert a != b
    assert sign(SECRET, 2, b'{"a":1}') != a


def test_headers_and_body():
    ev = Event(
        seq=41,
        kind="heartbeat",
        idempotency_key="hb-d-41",
        occurred_at="2026-11-29T10:16:00Z",
        data={"gpu_power_w": "212.5"},
    )
    body = encode_body([ev])
    assert body == (
        b'{"events":[{"seq":41,"kind":"heartbeat","idempotency_key":"hb-d-41",'
        b'"occurred_at":"2026-11-29T10:16:00Z","data":{"gpu_power_w":"212.5"}}]}'
    )
    headers = signed_headers(key_id="dk_1", secret=SECRET, body=body, timestamp=1764410000)
    assert headers["X-MedRWA-Key-Id"] == "dk_1"
    assert headers["X-MedRWA-Timestamp"] == "1764410000"
    assert headers["X-MedRWA-Signature"] == reference(SECRET, 1764410000, body)
    assert headers["Content-Type"] == "application/json"


def test_verify_freshness_both_ways_and_rotation():
    body = b"{}"
    sig = sign("new", 1000, body)
    assert verify(secrets=["old", "new"], timestamp="1000", signature=sig, body=body, now=1000) is None
    assert verify(secrets=["old"], timestamp="1000", signature=sig, body=body, now=1000) == "signature_invalid"
    assert verify(secrets=["new"], timestamp="1000", signature=sig, body=body, now=1301) == "timestamp_stale"
    assert verify(secrets=["new"], timestamp="1000", signature=sig, body=body, now=699) == "timestamp_future"

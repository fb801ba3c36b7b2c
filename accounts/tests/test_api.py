import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def clean_throttle():
    cache.clear()
    yield
    cache.clear()


def test_token_endpoint_limits_password_guessing(clean_throttle, investor, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    from accounts.tests.factories import PASSWORD

    # Test settings switch rates off for the suite; put a small one back for this endpoint's scope.
    limit = 5
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"anon": f"{limit}/min"})
    client = APIClient()
    for _ in range(limit):
        r = client.post("/api/v1/auth/token/", {"email": investor.email, "password": "guess"}, format="json")
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token/", {"email": investor.email, "password": PASSWORD}, format="json")
    assert r.status_code == 429
    err = r.json()["error"]
    assert err["code"] == "throttled" and set(err) == {"code", "message", "details"}
    assert "Retry-After" in r

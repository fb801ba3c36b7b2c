"""Login throttling that cannot be dodged (issue 9, item 9): the API token endpoint and the web
login share one per-account lockout, and client addresses come only from our trusted proxies."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts import throttling
from accounts.tests.factories import PASSWORD, make_user
from core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


def _api_token(email, password, **extra):
    return APIClient().post("/api/v1/auth/token/", {"email": email, "password": password}, format="json", **extra)


def test_web_login_failures_lock_the_api_token_endpoint(client):
    user = make_user(Role.INVESTOR, email="both@example.test")
    for _ in range(throttling.ACCOUNT_MAX_FAILURES):
        client.post("/accounts/login/", {"username": user.email, "password": "wrong"})
    r = _api_token(user.email, PASSWORD)
    assert r.status_code == 429 and r.json()["error"]["code"] == "throttled"


def test_api_token_failures_lock_the_web_login(client):
    user = make_user(Role.INVESTOR, email="api@example.test")
    for _ in range(throttling.ACCOUNT_MAX_FAILURES):
        assert _api_token(user.email, "wrong").status_code == 401
    r = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert r.status_code == 200 and "Too many failed attempts" in r.content.decode()
    assert _api_token(user.email.upper(), PASSWORD).status_code == 429  # case does not dodge it either


def test_spoofed_forwarded_for_does_not_change_the_client_address(settings):
    rf = RequestFactory()
    settings.TRUSTED_PROXY_COUNT = 0
    req = rf.post("/", HTTP_X_FORWARDED_FOR="1.2.3.4", REMOTE_ADDR="10.0.0.9")
    assert throttling.client_ip(req) == "10.0.0.9"
    settings.TRUSTED_PROXY_COUNT = 1  # our proxy appends the real peer; the client's own entries come first
    req = rf.post("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7", REMOTE_ADDR="10.0.0.1")
    assert throttling.client_ip(req) == "203.0.113.7"
    req = rf.post("/", REMOTE_ADDR="10.0.0.1")  # not through the proxy: its own address
    assert throttling.client_ip(req) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 2
    req = rf.post("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.2, 10.0.0.2", REMOTE_ADDR="10.0.0.1")
    assert throttling.client_ip(req) == "198.51.100.2"


def test_guessing_across_accounts_from_one_address_is_locked_despite_rotating_headers(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(throttling.ADDRESS_MAX_FAILURES):
        spoof = f"7.7.{n // 250}.{n % 250}, 203.0.113.9"  # a fresh client-set entry each time
        assert _api_token(f"victim{n}@example.test", "guess", HTTP_X_FORWARDED_FOR=spoof).status_code == 401
    user = make_user(Role.INVESTOR, email="next@example.test")
    r = _api_token(user.email, PASSWORD, HTTP_X_FORWARDED_FOR="8.8.8.8, 203.0.113.9")
    assert r.status_code == 429
    assert _api_token(user.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 200


def test_drf_throttles_count_only_trusted_proxy_hops():
    from django.conf import settings as dj

    assert dj.REST_FRAMEWORK["NUM_PROXIES"] == dj.TRUSTED_PROXY_COUNT

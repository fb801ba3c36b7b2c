"""The profile's API twins (issue 18, item 6): full name and time zone, password change, password
reset; each does what its page does, audited, errors in the error envelope."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import throttling
from accounts.models import User
from accounts.tests.factories import PASSWORD, make_user
from core.models import AuditEvent
from core.roles import Role
from core.tests.openapi import assert_matches_schema

pytestmark = pytest.mark.django_db

NEW = "a-new-long-passphrase-42"


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()  # the login lockout counts in the cache
    yield
    cache.clear()


def _error(r, status: int) -> dict:
    assert r.status_code == status, r.content
    err = r.json()["error"]
    assert set(err) == {"code", "message", "details"}
    return err


def _token_client(user) -> tuple[APIClient, str]:
    key = Token.objects.create(user=user).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, key


def test_full_name_and_time_zone_through_the_api(api_as, investor):
    me = api_as(investor)
    r = me.patch("/api/v1/me/", {"full_name": "Ada Lovelace"}, format="json")
    assert r.status_code == 200 and r.json()["full_name"] == "Ada Lovelace"
    assert_matches_schema(r, "/api/v1/me/", "patch")
    r = me.patch("/api/v1/me/", {"time_zone": "Asia/Shanghai"}, format="json")
    assert r.json()["time_zone"] == "Asia/Shanghai" and r.json()["full_name"] == "Ada Lovelace"
    investor.refresh_from_db()
    assert (investor.full_name, investor.time_zone) == ("Ada Lovelace", "Asia/Shanghai")
    event = AuditEvent.objects.filter(action="accounts.profile_update", object_id=str(investor.pk)).first()
    assert event.actor == investor and event.after["full_name"] == "Ada Lovelace"


def test_profile_api_refuses_what_the_form_refuses(api_as, investor):
    me = api_as(investor)
    assert "full_name" in _error(me.patch("/api/v1/me/", {"full_name": "  "}, format="json"), 400)["details"]
    err = _error(me.patch("/api/v1/me/", {"time_zone": "Mars/Olympus"}, format="json"), 400)
    assert err["code"] == "validation_error" and "time_zone" in err["details"]
    investor.refresh_from_db()
    assert investor.time_zone != "Mars/Olympus"
    anon = APIClient().patch("/api/v1/me/", {"full_name": "X"}, format="json")
    assert _error(anon, anon.status_code)["code"] and anon.status_code in (401, 403)


def test_password_change_with_a_token_revokes_it_and_returns_a_new_one(investor):
    client, old = _token_client(investor)
    r = client.post("/api/v1/me/password/", {"current_password": PASSWORD, "new_password": NEW}, format="json")
    assert r.status_code == 200, r.content
    assert_matches_schema(r, "/api/v1/me/password/", "post")
    new = r.json()["token"]
    assert new and new != old and not Token.objects.filter(key=old).exists()
    assert client.get("/api/v1/me/").status_code in (401, 403)  # the old token is gone
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert fresh.get("/api/v1/me/").status_code == 200
    investor.refresh_from_db()
    assert investor.check_password(NEW)
    event = AuditEvent.objects.get(action="accounts.password_change", object_id=str(investor.pk))
    assert event.actor == investor and event.after == {"how": "current_password"}
    assert NEW not in str(event.before) + str(event.after)


def test_password_change_refusals(investor):
    client, _ = _token_client(investor)
    err = _error(client.post("/api/v1/me/password/", {"current_password": "wrong", "new_password": NEW},
                             format="json"), 400)
    assert err["code"] == "invalid_password" and "current_password" in err["details"]
    err = _error(client.post("/api/v1/me/password/", {"current_password": PASSWORD, "new_password": "12345678"},
                             format="json"), 400)
    assert err["code"] == "validation_error" and err["details"]["new_password"]
    assert _error(client.post("/api/v1/me/password/", {}, format="json"), 400)["code"] == "validation_error"
    investor.refresh_from_db()
    assert investor.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="accounts.password_change").exists()


def test_guessing_the_current_password_locks_like_a_login(investor, monkeypatch):
    monkeypatch.setattr(throttling, "ACCOUNT_MAX_FAILURES", 3)
    client, _ = _token_client(investor)
    for _ in range(3):
        r = client.post("/api/v1/me/password/", {"current_password": "guess", "new_password": NEW}, format="json")
        assert r.status_code == 400
    r = client.post("/api/v1/me/password/", {"current_password": PASSWORD, "new_password": NEW}, format="json")
    assert _error(r, 429)["code"] == "throttled"
    # …and the web login is locked for that account too.
    login = APIClient().post("/api/v1/auth/token/", {"email": investor.email, "password": PASSWORD}, format="json")
    assert login.status_code == 429


def test_password_change_with_a_session_keeps_it(client, investor):
    client.force_login(investor)
    Token.objects.create(user=investor)
    r = client.post("/api/v1/me/password/", {"current_password": PASSWORD, "new_password": NEW},
                    content_type="application/json")
    assert r.status_code == 200 and r.json() == {"token": None}
    assert client.get("/api/v1/me/").status_code == 200  # this session goes on
    assert not Token.objects.filter(user=investor).exists()


def _reset_link() -> tuple[str, str]:
    body = mail.outbox[-1].body
    uid, token = re.search(r"/accounts/reset/([\w-]+)/([\w-]+)/", body).groups()
    return uid, token


def test_password_reset_through_the_api(investor):
    anon = APIClient()
    r = anon.post("/api/v1/auth/password-reset/", {"email": investor.email.upper()}, format="json")
    assert r.status_code == 202 and r.json()["detail"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [investor.email]
    unknown = anon.post("/api/v1/auth/password-reset/", {"email": "nobody@example.test"}, format="json")
    assert unknown.status_code == 202 and unknown.json() == r.json() and len(mail.outbox) == 1  # nothing told
    uid, token = _reset_link()
    bad = anon.post("/api/v1/auth/password-reset/confirm/", {"uid": uid, "token": "x-y", "new_password": NEW},
                    format="json")
    assert _error(bad, 400)["code"] == "invalid_reset_link"
    weak = anon.post("/api/v1/auth/password-reset/confirm/", {"uid": uid, "token": token, "new_password": "123"},
                     format="json")
    assert _error(weak, 400)["details"]["new_password"]
    ok = anon.post("/api/v1/auth/password-reset/confirm/", {"uid": uid, "token": token, "new_password": NEW},
                   format="json")
    assert ok.status_code == 200, ok.content
    assert_matches_schema(ok, "/api/v1/auth/password-reset/confirm/", "post")
    assert User.objects.get(pk=investor.pk).check_password(NEW)
    again = anon.post("/api/v1/auth/password-reset/confirm/", {"uid": uid, "token": token, "new_password": NEW + "x"},
                      format="json")
    assert _error(again, 400)["code"] == "invalid_reset_link"  # the link works once
    assert AuditEvent.objects.get(action="accounts.password_change").after == {"how": "reset_link"}
    for garbage in ("", "!!", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA"):
        r = anon.post("/api/v1/auth/password-reset/confirm/", {"uid": garbage or "x", "token": token,
                                                               "new_password": NEW}, format="json")
        assert _error(r, 400)["code"] == "invalid_reset_link"


def test_web_password_change(client, investor):
    client.force_login(investor)
    Token.objects.create(user=investor)
    assert b'href="/accounts/password/"' in client.get("/accounts/profile/").content
    page = client.get("/accounts/password/")
    assert page.status_code == 200
    r = client.post("/accounts/password/", {"current_password": "wrong", "new_password": NEW, "new_password2": NEW})
    assert r.status_code == 200 and "current password is wrong" in r.content.decode()
    r = client.post("/accounts/password/", {"current_password": PASSWORD, "new_password": NEW, "new_password2": "x"})
    assert r.status_code == 200 and "two passwords differ" in r.content.decode()
    r = client.post("/accounts/password/", {"current_password": PASSWORD, "new_password": NEW, "new_password2": NEW})
    assert r.status_code == 302 and r["Location"] == "/accounts/profile/"
    assert client.get("/accounts/profile/").status_code == 200  # still signed in
    investor.refresh_from_db()
    assert investor.check_password(NEW) and not Token.objects.filter(user=investor).exists()
    assert AuditEvent.objects.filter(action="accounts.password_change", actor=investor).count() == 1


def test_web_reset_link_is_audited_like_the_api(client):
    user = make_user(Role.INVESTOR, email="reset@example.test")
    client.post("/accounts/password-reset/", {"email": user.email})
    uid, token = _reset_link()
    r = client.get(f"/accounts/reset/{uid}/{token}/", follow=True)
    r = client.post(r.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert r.status_code == 302, r.content
    assert User.objects.get(pk=user.pk).check_password(NEW)
    assert AuditEvent.objects.get(action="accounts.password_change").after == {"how": "reset_link"}

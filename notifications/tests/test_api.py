"""The API twins of the notification pages, and their place in the OpenAPI schema."""

import re

import pytest
from django.urls import URLPattern
from drf_spectacular.generators import SchemaGenerator

from core.roles import Role
from notifications import services
from notifications import urls as web_urls
from notifications.api_urls import WEB_API_TWINS
from notifications.models import Category

pytestmark = pytest.mark.django_db


def _n(user, key, **kw):
    return services.notify(recipient=user, category=kw.pop("category", Category.KYC), event_key=key,
                           title=f"Event {key}", body="Details", url="/investor/onboarding/", **kw)


def test_every_notification_web_action_has_an_api_twin_in_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = {re.sub(r"\{[^}]+\}", "{}", p): ops for p, ops in schema["paths"].items()}
    names = {p.name for p in web_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == set(WEB_API_TWINS)
    absent = [(name, m, p) for name, twins in WEB_API_TWINS.items() for m, p in twins
              if m not in paths.get(re.sub(r"\{[^}]+\}", "{}", p), {})]
    assert not absent


def test_list_count_read_and_read_all(api_as, investor, user_with_role):
    other = user_with_role(Role.INVESTOR)
    a = _n(investor, "a")
    _n(investor, "b")
    theirs = _n(other, "a")
    me = api_as(investor)
    r = me.get("/api/v1/notifications/")
    assert r.status_code == 200 and r.json()["count"] == 2
    assert [x["title"] for x in r.json()["results"]] == ["Event b", "Event a"]
    assert me.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    r = me.post(f"/api/v1/notifications/{a.pk}/read/")
    assert r.status_code == 200 and r.json()["read_at"] is not None
    assert me.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    assert me.get("/api/v1/notifications/?unread=true").json()["count"] == 1
    r = me.post(f"/api/v1/notifications/{theirs.pk}/read/")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert me.post("/api/v1/notifications/read-all/").json() == {"marked": 1, "unread": 0}
    assert api_as(other).get("/api/v1/notifications/unread-count/").json() == {"unread": 1}


def test_preferences_get_and_update(api_as, investor):
    me = api_as(investor)
    rows = {r["category"]: r for r in me.get("/api/v1/notifications/preferences/").json()}
    assert rows["orders"]["email"] is True and rows["security"]["locked"] is True
    r = me.put("/api/v1/notifications/preferences/", {"email": {"orders": False}}, format="json")
    assert r.status_code == 200
    assert {x["category"]: x["email"] for x in r.json()}["orders"] is False
    r = me.put("/api/v1/notifications/preferences/", {"email": {"security": False}}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "always_on"
    r = me.put("/api/v1/notifications/preferences/", {"email": {"bogus": True}}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_category"
    r = me.put("/api/v1/notifications/preferences/", {"email": "yes"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"


def test_anonymous_is_refused(api_client):
    r = api_client.get("/api/v1/notifications/unread-count/")
    assert r.status_code in (401, 403) and "error" in r.json()

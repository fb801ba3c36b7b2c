"""Each user has a time zone: set on the profile page or the API, shown on pages, stored times UTC."""

import datetime as dt
import zoneinfo

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, make_user
from core.models import AuditEvent
from core.roles import Role

pytestmark = pytest.mark.django_db


def test_profile_page_saves_the_zone_and_pages_then_show_local_times(client):
    officer = make_user(Role.COMPLIANCE_OFFICER)
    client.login(email=officer.email, password=PASSWORD)
    page = client.get("/accounts/profile/").content.decode()
    assert 'name="time_zone"' in page and "Europe/Zurich" in page

    resp = client.post("/accounts/profile/", {"full_name": "Olga Officer", "time_zone": "Europe/Zurich"})
    assert resp.status_code == 302
    officer.refresh_from_db()
    assert officer.time_zone == "Europe/Zurich"
    assert AuditEvent.objects.filter(action="accounts.profile_update", object_id=str(officer.pk)).exists()

    # The audit trail shows the event's stored UTC instant on Zurich's wall clock, zone named.
    event = AuditEvent.objects.latest("pk")
    zurich = event.created_at.astimezone(zoneinfo.ZoneInfo("Europe/Zurich"))
    utc = event.created_at.astimezone(dt.UTC)
    html = client.get("/audit/").content.decode()
    assert f"{zurich:%Y-%m-%d %H:%M:%S} {zurich.tzname()}" in html
    assert f"{utc:%Y-%m-%d %H:%M:%S}" not in html


def test_profile_page_refuses_an_unknown_zone(client):
    user = make_user(Role.INVESTOR)
    client.login(email=user.email, password=PASSWORD)
    resp = client.post("/accounts/profile/", {"full_name": "Ivy", "time_zone": "Moon/Base"})
    assert resp.status_code == 200
    assert "Select a valid choice" in resp.content.decode()
    user.refresh_from_db()
    assert user.time_zone == "UTC" and user.full_name != "Ivy"


def test_api_sets_and_reports_the_zone():
    user = make_user(Role.INVESTOR)
    api = APIClient()
    api.force_authenticate(user)
    assert api.get("/api/v1/me/").json()["time_zone"] == "UTC"

    resp = api.put("/api/v1/me/time-zone/", {"time_zone": "America/New_York"}, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"time_zone": "America/New_York"}
    assert api.get("/api/v1/me/time-zone/").json() == {"time_zone": "America/New_York"}
    assert AuditEvent.objects.filter(action="accounts.time_zone_set").count() == 1

    bad = api.put("/api/v1/me/time-zone/", {"time_zone": "EST5EDT-ish"}, format="json")
    assert bad.status_code == 400
    body = bad.json()["error"]
    assert body["code"] == "validation_error" and "time_zone" in body["details"]
    user.refresh_from_db()
    assert user.time_zone == "America/New_York"

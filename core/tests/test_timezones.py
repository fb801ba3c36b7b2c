"""User time zones: the helper used by emails and PDFs, and the per-request middleware."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from core.templatetags.medrwa import when
from core.timefmt import UserTimeZoneMiddleware, local, local_current, validate_time_zone

WINTER = dt.datetime(2026, 12, 1, 13, 5, tzinfo=dt.UTC)
SUMMER = dt.datetime(2026, 7, 1, 12, 5, tzinfo=dt.UTC)


class _User:
    is_authenticated = True

    def __init__(self, time_zone):
        self.time_zone = time_zone


def test_local_shows_the_users_wall_clock_and_zone_across_dst():
    zurich = _User("Europe/Zurich")
    assert local(WINTER, zurich) == "2026-12-01 14:05 CET"
    assert local(SUMMER, zurich) == "2026-07-01 14:05 CEST"
    assert local(WINTER, _User("America/New_York")) == "2026-12-01 08:05 EST"
    assert local(WINTER, _User("Asia/Kolkata")) == "2026-12-01 18:35 IST"


def test_local_names_numeric_zones_and_falls_back_to_utc():
    # tzdata has no letters for Dubai: "+04" alone reads like a number, so it says UTC+04.
    assert local(WINTER, _User("Asia/Dubai")) == "2026-12-01 17:05 UTC+04"
    assert local(WINTER, None) == "2026-12-01 13:05 UTC"
    assert local(WINTER, _User("Not/AZone")) == "2026-12-01 13:05 UTC"
    assert local(dt.datetime(2026, 12, 1, 13, 5), _User("Europe/Zurich")) == "2026-12-01 14:05 CET"  # naive = UTC
    assert local(None, _User("Europe/Zurich")) == "—"


def test_validate_time_zone_accepts_iana_names_only():
    validate_time_zone("Europe/Zurich")
    validate_time_zone("UTC")
    for bad in ("CET-ish", "Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(ValidationError):
            validate_time_zone(bad)


def test_middleware_activates_the_users_zone_for_the_request_only():
    seen = {}

    def view(request):
        seen["name"] = str(timezone.get_current_timezone())
        seen["shown"] = local_current(WINTER)
        seen["filter"] = when(WINTER)
        return HttpResponse("ok")

    mw = UserTimeZoneMiddleware(view)
    request = RequestFactory().get("/")
    request.user = _User("Asia/Tokyo")
    mw(request)
    assert seen == {"name": "Asia/Tokyo", "shown": "2026-12-01 22:05 JST", "filter": "2026-12-01 22:05 JST"}
    # The zone does not leak to the next request served by this thread.
    assert str(timezone.get_current_timezone()) == "UTC"

    anonymous = RequestFactory().get("/")
    anonymous.user = type("Anon", (), {"is_authenticated": False})()
    mw(anonymous)
    assert seen["name"] == "UTC" and seen["shown"] == "2026-12-01 13:05 UTC"

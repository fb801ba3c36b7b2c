"""Users' time zones. Times are stored in UTC; what a person reads (pages, emails, PDFs) is in
their own IANA zone, always with the zone named, so "14:05" is never ambiguous."""

import datetime as dt
import functools
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

DEFAULT_FORMAT = "%Y-%m-%d %H:%M"


@functools.cache
def available_time_zones() -> frozenset[str]:
    # zoneinfo lists "posixrules", "Factory", "localtime"-style links too; keep real zone names.
    return frozenset(n for n in zoneinfo.available_timezones() if n not in {"Factory", "localtime", "posixrules"})


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(available_time_zones())]


def validate_time_zone(name: str) -> None:
    """An IANA zone name known to zoneinfo ("Europe/Zurich"); abbreviations ("CET") are ambiguous."""
    if name not in available_time_zones():
        raise ValidationError(
            gettext("Unknown time zone %(name)s: use an IANA name such as Europe/Zurich or America/New_York."),
            code="invalid_time_zone", params={"name": name},
        )


def zone_of(user=None) -> zoneinfo.ZoneInfo:
    """The user's zone; the site's (settings.TIME_ZONE) for anyone without a valid one."""
    name = getattr(user, "time_zone", "") or settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def abbreviation(value: dt.datetime) -> str:
    """ "CET", "EST"; zones without a letter abbreviation get "UTC+04" rather than tzdata's bare "+04"."""
    name = value.tzname() or "UTC"
    if name[:1] in "+-":
        name = "UTC" + name
    return name


def local(value: dt.datetime | None, user=None, fmt: str = DEFAULT_FORMAT) -> str:
    """`local(dt, user)` → "2026-12-01 14:05 CET": the instant in the user's zone, zone named.

    Naive datetimes are taken as UTC (how they are stored). None → "—"."""
    if value is None:
        return "—"
    if not isinstance(value, dt.datetime):  # a date has no time zone
        return value.strftime(fmt.split(" ")[0])
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(zone_of(user))
    return f"{value.strftime(fmt)} {abbreviation(value)}"


def local_current(value: dt.datetime | None, fmt: str = DEFAULT_FORMAT) -> str:
    """Like local(), in the zone active for this request (UserTimeZoneMiddleware)."""
    if value is None:
        return "—"
    if not isinstance(value, dt.datetime):
        return value.strftime(fmt.split(" ")[0])
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    value = timezone.localtime(value)
    return f"{value.strftime(fmt)} {abbreviation(value)}"


class UserTimeZoneMiddleware:
    """Activates the signed-in user's zone for the request (templates, forms, |when), so pages
    show local times; the database keeps UTC. Goes after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "time_zone", ""):
            timezone.activate(zone_of(user))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            # Threads serve many users: never leak one user's zone into the next request.
            timezone.deactivate()

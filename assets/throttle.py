"""A per-client-address budget for the public verification pages and API (fixed one-minute
windows, core.ratelimit), so the public surface cannot be hammered or scraped."""

from django.conf import settings

from core.ratelimit import client_over_budget


def verify_rate_per_minute() -> int:
    return int(getattr(settings, "ASSETS_VERIFY_RATE_PER_MINUTE", 60))


def verify_throttled(request) -> bool:
    """Counts this request; True once the address is over its budget for the minute."""
    return client_over_budget(request, "assets.verify", verify_rate_per_minute())

"""A per-client-address budget for the public verification pages and API (cache-based,
fixed one-minute windows), so the public surface cannot be hammered or scraped."""

import time

from django.conf import settings
from django.core.cache import cache


def verify_rate_per_minute() -> int:
    return int(getattr(settings, "ASSETS_VERIFY_RATE_PER_MINUTE", 60))


def client_address(request) -> str:
    from core.clientip import client_ip

    return client_ip(request) or "unknown"


def verify_throttled(request) -> bool:
    """Counts this request; True once the address is over its budget for the minute."""
    key = f"assets.verify:{client_address(request)}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    return count > verify_rate_per_minute()

"""Fixed one-minute windows counted in the shared cache (Redis in production): the budgets of
the public verification pages (per client address) and of telemetry ingestion (per device key)."""

import time

from django.core.cache import cache

from core.clientip import client_ip


def minute_hit(scope: str, *, now: float | None = None) -> tuple[int, int]:
    """Count one request against `scope` in the current minute: (requests so far in it,
    seconds until the next window opens)."""
    current = int(time.time() if now is None else now)
    key = f"ratelimit:{scope}:{current // 60}"
    cache.add(key, 0, timeout=120)
    try:
        n = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        n = 1
    return n, 60 - current % 60


def client_over_budget(request, scope: str, per_minute: int) -> bool:
    """Counts this request against its client address (as our trusted proxies saw it:
    core.clientip); True once the address is over `per_minute` in this minute."""
    return minute_hit(f"{scope}:{client_ip(request) or 'unknown'}")[0] > per_minute

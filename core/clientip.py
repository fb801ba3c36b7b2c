"""The client's address for throttling: REMOTE_ADDR, or X-Forwarded-For only as far as our own
reverse proxies appended to it (settings.TRUSTED_PROXY_COUNT). Entries a client writes into
the header itself are never trusted; behind a proxy, REMOTE_ADDR alone would put every
visitor in one bucket."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """The client's address as seen by the outermost proxy we trust."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    trusted = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if trusted <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < trusted:
        return remote  # the request did not come through all our proxies
    candidate = hops[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote

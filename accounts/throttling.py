"""Login throttling shared by the web login form and the API token endpoint (and the password
change, web and API: guesses at the current password count as failed logins), so none can be
used to dodge the others: failures count per account (any client) and per client address, in
the shared cache (Redis in production: every web process sees the same counts).

The client address comes from REMOTE_ADDR, or from X-Forwarded-For only as far as our own
reverse proxies appended to it (settings.TRUSTED_PROXY_COUNT): entries a client puts in the
header itself are never trusted."""

from __future__ import annotations

import hashlib

from django.core.cache import cache

from accounts import services
from core.clientip import client_ip
from core.errors import ApplicationError

ACCOUNT_MAX_FAILURES = 10
ADDRESS_MAX_FAILURES = 50  # many accounts from one address: credential stuffing
WINDOW_SECONDS = 15 * 60
LOCKED_MESSAGE = "Too many failed attempts for this account. Wait 15 minutes or reset your password."


def _key(kind: str, value: str) -> str:
    return f"login-failures:{kind}:" + hashlib.sha256(value.strip().lower().encode()).hexdigest()


def login_blocked(*, email: str, request) -> bool:
    """True when this account, or this client address, has failed too often lately."""
    return (cache.get(_key("account", email), 0) >= ACCOUNT_MAX_FAILURES
            or cache.get(_key("address", client_ip(request)), 0) >= ADDRESS_MAX_FAILURES)


def login_failed(*, email: str, request) -> None:
    for key in (_key("account", email), _key("address", client_ip(request))):
        cache.add(key, 0, WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, WINDOW_SECONDS)


def password_change(request, *, current_password: str, new_password: str):
    """services.password_change for the signed-in user behind the login lockout: from a session
    or a token left open, the current password cannot be guessed faster than a login."""
    user = request.user
    if login_blocked(email=user.email, request=request):
        raise ApplicationError("throttled", LOCKED_MESSAGE, status=429)
    try:
        return services.password_change(actor=user, user=user, current_password=current_password,
                                        new_password=new_password)
    except ApplicationError as exc:
        if exc.code == "invalid_password":
            login_failed(email=user.email, request=request)
        raise

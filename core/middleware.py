"""Middleware: a request id for audit events and logs, a 400 for NUL in the query, the user's language."""

import contextvars
import re
import uuid

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import translation
from django.utils.translation import get_supported_language_variant, gettext
from django.utils.translation.trans_real import parse_accept_lang_header

from core.api import error_body

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    """Gives every request an id (or keeps a sane incoming X-Request-ID) so audit events
    and logs written during the request can be tied together."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE.match(incoming) else uuid.uuid4().hex
        request.request_id = rid
        token = _request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = rid
        return response


class RejectNulQueryMiddleware:
    """400 for a NUL character in the query string. PostgreSQL text cannot hold one, so a
    `?q=%00` reaching any filter raised inside the database driver: a 500 on every list page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            message = gettext("The address contains a NUL character.")
            if request.path.startswith("/api/"):
                return JsonResponse(error_body("malformed_request", message), status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class UserLanguageMiddleware:
    """Activates the language a signed-in user saved (accounts.User.language), so their choice
    follows them across browsers; LocaleMiddleware has already picked cookie → Accept-Language
    for everyone else. An API call that names a language in Accept-Language gets that language:
    a machine client asks explicitly, and its error messages must follow the header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        lang = None
        header = request.headers.get("Accept-Language", "")
        if request.path.startswith("/api/") and header:
            lang = _language_from_header(header)
        if lang is None:
            user = getattr(request, "user", None)
            saved = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
            if saved:
                lang = saved
        if lang:
            translation.activate(lang)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


def _language_from_header(header: str) -> str | None:
    for code, _q in parse_accept_lang_header(header):
        if code == "*":
            return None
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return None

"""Showing a service's ApplicationError to people: on a form, as a 403, or as a message."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied

from core.errors import ApplicationError


def add_application_error(form, exc: ApplicationError) -> None:
    """Show a service's ApplicationError on a form: details keyed by a form field go next to
    that field; otherwise the message goes at the top (details like {"current": ...} of an
    illegal transition are for API clients, not for people)."""
    placed = False
    for field, errors in exc.details.items():
        if field in form.fields:
            for err in errors if isinstance(errors, list) else [errors]:
                form.add_error(field, err)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def message_application_error(request, exc: ApplicationError, *, shown_codes: tuple[str, ...] = ()) -> None:
    """A refused action of a page without a form: a permission refusal is a 403 page (unless
    its code is one the page explains itself), anything else a message on the next page."""
    if exc.status == 403 and exc.code not in shown_codes:
        raise PermissionDenied(exc.message) from exc
    messages.error(request, exc.message)

"""Language helpers for work done outside a request (Celery tasks, chain hooks): emails and PDFs
for a user are written in the language they chose (accounts.User.language)."""

import contextlib

from django.utils import translation
from django.utils.functional import Promise


def in_language_of(user):
    """`with in_language_of(user): ...` activates the user's saved language; with none saved the
    current language stays (the request's, or LANGUAGE_CODE in a worker)."""
    language = getattr(user, "language", "") if user is not None else ""
    return translation.override(language) if language else contextlib.nullcontext()


def in_language_for(user, value):
    """A lazy translation (e.g. an order's reason) as text in `user`'s language, to be stored
    for them; anything else as it is."""
    if not isinstance(value, Promise):
        return value
    with in_language_of(user):
        return str(value)

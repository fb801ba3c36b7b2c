"""Eligibility hooks: how other apps react when an investor is put on hold (an open sanctions
hit, a revoked approval) or released, without `compliance` importing them. An app registers,
in its AppConfig.ready():

    compliance.hooks.register(compliance.hooks.HOLD, "tokens.offerings.holds.on_investor_hold")

The deciding service calls every registered path as `fn(profile=…, cause=…, reason=…, actor=…)`
INSIDE its transaction: a hook that raises rolls the decision back, so an investor is never
recorded as held while the chain writes that bind the hold were not queued. `cause` is a
stable key of the decision (e.g. "hit:12", "revoke:7"), for idempotent effects."""

from __future__ import annotations

from django.utils.module_loading import import_string

HOLD = "investor_hold"
RELEASE = "investor_release"
EVENTS = (HOLD, RELEASE)

_HOOKS: dict[str, list[str]] = {}


def register(event: str, dotted_path: str) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown compliance hook event {event!r}; one of {EVENTS}")
    paths = _HOOKS.setdefault(event, [])
    if dotted_path not in paths:
        paths.append(dotted_path)


def registered(event: str) -> list[str]:
    return list(_HOOKS.get(event, []))


def run(event: str, *, profile, cause: str, reason: str, actor=None) -> None:
    """Call the event's hooks in registration order; exceptions propagate."""
    for path in registered(event):
        import_string(path)(profile=profile, cause=cause, reason=reason, actor=actor)

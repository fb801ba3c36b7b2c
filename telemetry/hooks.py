"""Revenue-period hooks: how other apps react to a period being closed (or adjusted)
without `telemetry` importing them. An app registers, in its AppConfig.ready():

    telemetry.hooks.register("period_closed", "tokens.distributions.services.on_period_closed")

`revenue_period_close` and `revenue_period_adjust` call every registered path as
`fn(period)` INSIDE their transaction: a hook that raises rolls the close back (the
error reaches the caller), so nothing is closed that its listeners could not record.
`period.kind` tells a regular close from an adjustment."""

from __future__ import annotations

from django.utils.module_loading import import_string

PERIOD_CLOSED = "period_closed"
EVENTS = (PERIOD_CLOSED,)

_HOOKS: dict[str, list[str]] = {}


def register(event: str, dotted_path: str) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown telemetry hook event {event!r}; one of {EVENTS}")
    paths = _HOOKS.setdefault(event, [])
    if dotted_path not in paths:
        paths.append(dotted_path)


def registered(event: str) -> list[str]:
    return list(_HOOKS.get(event, []))


def unregister(event: str, dotted_path: str) -> None:
    """For tests that register a hook temporarily."""
    paths = _HOOKS.get(event, [])
    if dotted_path in paths:
        paths.remove(dotted_path)


def run(event: str, period) -> None:
    """Call the event's hooks in registration order; exceptions propagate (the caller's
    transaction rolls back)."""
    for path in registered(event):
        import_string(path)(period)

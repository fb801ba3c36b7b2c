"""The audit trail's one writer: audit() and JSON-safe snapshots of a model's fields."""

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models

from core.middleware import current_request_id
from core.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, decimal.Decimal | uuid.UUID | dt.date | dt.datetime | dt.time):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def audit(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> AuditEvent:
    """Record a state change. Call inside the service's transaction so the event commits
    (or rolls back) with the change it describes."""
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_label=(getattr(actor, "email", "") or str(actor)) if actor is not None else "system",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        reason=reason,
        request_id=current_request_id(),
    )


def snapshot(obj: models.Model, fields: list[str]) -> dict:
    """The listed fields of `obj` as JSON-safe values, for before/after in audit events."""
    return {f: _jsonable(getattr(obj, f)) for f in fields}

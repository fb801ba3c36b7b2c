"""Confirmation hooks: how callers react to their rows becoming final without `chain`
importing them. An app registers, in its AppConfig.ready():

    chain.hooks.register("tokens.deploy", "tokens.offerings.chain_hooks.on_deploy_final")

The dotted path is resolved with import_string when a row of that kind becomes final
(confirmed OR failed — the callee checks `row.status`), called as `fn(row)` inside a DB
transaction. A hook that raises is logged and retried by the sweep (row.hook_done stays
False), so hooks must be idempotent. Callers may also simply poll rows of their kinds."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils.module_loading import import_string

from chain.models import ChainTransaction

logger = logging.getLogger(__name__)

_HOOKS: dict[str, list[str]] = {}


def register(kind: str, dotted_path: str) -> None:
    paths = _HOOKS.setdefault(kind, [])
    if dotted_path not in paths:
        paths.append(dotted_path)


def registered(kind: str) -> list[str]:
    return list(_HOOKS.get(kind, []))


def run(row) -> bool:
    try:
        with transaction.atomic():
            locked = ChainTransaction.objects.select_for_update().get(pk=row.pk)
            if locked.hook_done:
                return True
            for path in registered(locked.kind):
                import_string(path)(locked)
            ChainTransaction.objects.filter(pk=row.pk).update(hook_done=True)
    except Exception:
        logger.exception("Chain hook for %s (row %s) failed; the sweep will retry", row.kind, row.pk)
        return False
    return True

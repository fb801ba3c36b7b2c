"""Reads of the chain gateway (no node access unless stated)."""

from __future__ import annotations

from django.conf import settings

from chain.models import ChainEvent, ChainTransaction, Deployment, IndexedContract
from core.errors import ApplicationError


def deployment_address(name: str) -> str:
    """Address of a shared contract deployed by `manage.py chain_bootstrap` on CHAIN_ID."""
    dep = Deployment.objects.filter(chain_id=settings.CHAIN_ID, name=name).first()
    if dep is None:
        raise ApplicationError(
            "chain_not_bootstrapped",
            f"The {name} contract is not deployed yet. Run `manage.py chain_bootstrap` with the chain running.",
            status=503,
        )
    return dep.address


def deployments() -> list[Deployment]:
    return list(Deployment.objects.filter(chain_id=settings.CHAIN_ID).order_by("name"))


def outbox_rows(*, kinds: list[str] | None = None, keys: list[str] | None = None,
                to_address: str = "", limit: int = 50) -> list[ChainTransaction]:
    qs = ChainTransaction.objects.all()
    if kinds:
        qs = qs.filter(kind__in=kinds)
    if keys is not None:
        qs = qs.filter(idempotency_key__in=keys)
    if to_address:
        qs = qs.filter(to_address__iexact=to_address)
    return list(qs.order_by("-created_at", "-id")[:limit])


def events_for(address: str, *, names: list[str] | None = None, limit: int | None = None,
               newest_first: bool = False) -> list[ChainEvent]:
    """Confirmed, decoded events of an indexed contract (chain order unless newest_first)."""
    qs = ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID, contract__address__iexact=address)
    if names:
        qs = qs.filter(event__in=names)
    qs = qs.order_by("-block_number", "-log_index") if newest_first else qs.order_by("block_number", "log_index")
    return list(qs[:limit] if limit else qs)


def indexed_contract(address: str) -> IndexedContract | None:
    return IndexedContract.objects.filter(chain_id=settings.CHAIN_ID, address__iexact=address).first()

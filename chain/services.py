"""Writes of the chain gateway. Callers (tokens, compliance) only ever use
`outbox_enqueue`; the rest is run by Celery tasks (`chain.tasks`, which call in here and are
enqueued by name) and management commands.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from chain import gateway, indexer
from chain.models import ChainTransaction
from chain.selectors import indexed_contract
from core.errors import ApplicationError
from core.services import audit
from core.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

MAX_SAFE_INT = 2**53


def _normalize_args(args) -> list:
    """JSON-safe args: ints beyond JS's safe range travel as decimal strings, bytes as 0x-hex."""
    out = []
    for a in args or []:
        if isinstance(a, bool):
            out.append(a)
        elif isinstance(a, int):
            out.append(str(a) if abs(a) > MAX_SAFE_INT else a)
        elif isinstance(a, bytes | bytearray):
            out.append("0x" + bytes(a).hex())
        elif isinstance(a, list | tuple):
            out.append(_normalize_args(a))
        else:
            out.append(a)
    return out


def outbox_enqueue(
    *,
    actor,
    idempotency_key: str,
    kind: str,
    contract_name: str,
    function: str,
    args: list | tuple,
    to_address: str = "",
    sender: str = "agent",
    reason: str = "",
    after: ChainTransaction | None = None,
) -> ChainTransaction:
    """Record one intended transaction. Idempotent on `idempotency_key`: the same key
    returns the existing row (whatever its status). `after`: a row that must be confirmed
    before this one is signed (its failure fails this one). Call inside the caller's
    `transaction.atomic()`; the send is scheduled on commit, and a periodic sweep picks up
    anything whose enqueue was lost."""
    existing = ChainTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    if sender not in ChainTransaction.Sender.values:
        if not gateway.is_wallet_sender(sender):
            raise ApplicationError("chain_bad_sender", f"Unknown sender {sender!r}.")
        sender = gateway.wallet_sender(sender.split(":", 1)[1])
    if not to_address and function != "constructor":
        raise ApplicationError("chain_missing_address", "A contract address is required for a call.")
    row = ChainTransaction(
        idempotency_key=idempotency_key,
        kind=kind,
        contract_name=contract_name,
        to_address=to_address,
        function=function,
        args=_normalize_args(args),
        sender=sender,
        reason=reason,
        after=after,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    row.full_clean()
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # Another request enqueued the same intent between our check and our insert.
        existing = ChainTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing
    audit(actor=actor, action="chain.outbox_enqueue", obj=row,
          after={"kind": kind, "contract": contract_name, "function": function, "to": to_address,
                 "args": row.args, "sender": sender}, reason=reason)
    enqueue_on_commit("chain.tasks.outbox_process", row.pk)
    return row


GAS_TOPUP_CONTRACT, GAS_TOPUP_FUNCTION = "Ether", "topUpGas"


def outbox_enqueue_gas_topup(*, actor, idempotency_key: str, wallet: str, gas: int,
                             after: ChainTransaction | None = None, reason: str = "") -> ChainTransaction:
    """The operator sends a custodial wallet just enough ETH for `gas` units at the fee the
    outbox will offer (computed when the row is sent, minus what the wallet already holds; no
    transaction at all when it holds enough). Order the wallet's own rows `after=` this one,
    so the platform pays the gas and custodial wallets never need to be funded by hand."""
    return outbox_enqueue(actor=actor, idempotency_key=idempotency_key, kind="chain.gas_topup",
                          contract_name=GAS_TOPUP_CONTRACT, function=GAS_TOPUP_FUNCTION, args=[int(gas)],
                          to_address=gateway.to_checksum(wallet), sender="operator", after=after,
                          reason=reason or f"gas for {gateway.to_checksum(wallet)}")


def index_follow(*, address: str, contract_name: str, from_block: int = 0):
    """Ask the indexer to follow a contract's events from `from_block` (idempotent)."""
    return indexer.follow(address=address, contract_name=contract_name, from_block=from_block)


def index_now() -> int:
    """Index confirmed logs of all followed contracts now (the periodic task does this too)."""
    return indexer.index_all()


def index_address(address: str) -> int:
    """Index one followed contract's confirmed logs now (e.g. right after a transaction to it
    is confirmed); 0 if it is not followed."""
    ic = indexed_contract(address)
    return indexer.index_contract(ic) if ic is not None else 0

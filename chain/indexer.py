"""Reads confirmed logs of followed contracts into ChainEvent rows (decoded, idempotent on
(tx_hash, log_index)), with a block cursor per contract. Interpreting them (holdings, cap
tables) is the calling app's job."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction

from chain import gateway
from chain.models import ChainEvent, IndexedContract

logger = logging.getLogger(__name__)
MAX_RANGE = 5_000


def follow(*, address: str, contract_name: str, from_block: int = 0) -> IndexedContract:
    """Start indexing a contract (idempotent)."""
    obj, _ = IndexedContract.objects.get_or_create(
        chain_id=settings.CHAIN_ID, address=gateway.to_checksum(address),
        defaults={"contract_name": contract_name, "from_block": from_block, "last_block": from_block - 1})
    return obj


def index_contract(ic: IndexedContract, *, head: int | None = None) -> int:
    web3 = gateway.w3()
    head = web3.eth.block_number if head is None else head
    safe = head - max(1, int(settings.CHAIN_CONFIRMATIONS)) + 1
    start = max(ic.last_block + 1, ic.from_block)
    stored = 0
    while start <= safe:
        end = min(safe, start + MAX_RANGE - 1)
        logs = gateway.get_logs(address=ic.address, from_block=start, to_block=end,
                                contract_name=ic.contract_name)
        stamps: dict[int, dt.datetime] = {}
        rows = []
        for lg in logs:
            if not lg["event"]:
                continue
            bn = lg["blockNumber"]
            if bn not in stamps:
                ts = web3.eth.get_block(bn)["timestamp"]
                stamps[bn] = dt.datetime.fromtimestamp(int(ts), tz=dt.UTC)
            rows.append(ChainEvent(contract=ic, block_number=bn, tx_hash=lg["transactionHash"],
                                   log_index=lg["logIndex"], event=lg["event"], args=lg["args"],
                                   block_timestamp=stamps[bn]))
        with transaction.atomic():
            ChainEvent.objects.bulk_create(rows, ignore_conflicts=True)
            IndexedContract.objects.filter(pk=ic.pk).update(last_block=end)
        ic.last_block = end
        stored += len(rows)
        start = end + 1
    return stored


def index_all() -> int:
    if not gateway.is_available():
        logger.info("Chain not reachable; indexing later")
        return 0
    head = gateway.w3().eth.block_number
    total = 0
    for ic in IndexedContract.objects.filter(chain_id=settings.CHAIN_ID):
        try:
            total += index_contract(ic, head=head)
        except Exception:
            logger.exception("Indexing %s failed; the next run resumes from its cursor", ic)
    return total

"""Moves outbox rows along pending → submitted → mined → confirmed | failed.

Safety rules (why the code looks the way it does):
- The transaction is signed once and its raw bytes + hash are committed to the row BEFORE
  broadcasting. Any later attempt re-broadcasts the same bytes or looks the receipt up by
  hash, so a worker dying after sending, or a node restart losing its mempool, can never
  produce a second, different transaction for the same intent.
- Nonces come from a per-sender row locked with select_for_update (and never below the
  node's pending count), so two workers never sign two transactions with one nonce.
- SQLite has no row locks: Django makes select_for_update a no-op there. The settings open
  SQLite transactions with BEGIN IMMEDIATE, which takes the database write lock at the
  start of every atomic block, so the locked sections below still run one at a time across
  processes (the whole database is the lock; fine for the local demo's single worker).
  Production and CI run PostgreSQL, where the row locks are real;
  tests/flows/test_chain_concurrency.py races workers on the same rows there.
- A row is re-signed only when its nonce was provably consumed by something else
  (nonce below the node's latest count and no receipt for our hash): our bytes can then
  never be mined, so the new transaction is not a duplicate.
- Node errors never fail a row: it stays where it is and is retried with backoff.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from chain import gateway, hooks
from chain.models import ChainTransaction, SenderNonce
from chain.services import GAS_TOPUP_CONTRACT, GAS_TOPUP_FUNCTION
from core.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

S = ChainTransaction.Status
MAX_BACKOFF_S = 300
GAS_HEADROOM = 1.25


def _backoff(row: ChainTransaction, error: str) -> None:
    delay = min(MAX_BACKOFF_S, 2 ** min(row.attempts, 8))
    ChainTransaction.objects.filter(pk=row.pk).update(
        attempts=row.attempts + 1, error=error[:2000],
        next_attempt_at=timezone.now() + dt.timedelta(seconds=delay), updated_at=timezone.now(),
    )


def _open(row: ChainTransaction):
    # Updates are conditional on the row's state: another worker may have moved it since this
    # one read it, and a stale view must never undo (or fail) what that worker did.
    return ChainTransaction.objects.filter(pk=row.pk).exclude(status__in=[S.CONFIRMED, S.FAILED])


def _fail(row: ChainTransaction, error: str, **extra) -> None:
    _open(row).update(status=S.FAILED, error=error[:2000], updated_at=timezone.now(), **extra)


def _revert_message(exc: Exception, contract_name: str = "") -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        name = gateway.error_description(data) or gateway.error_name(data[:10])
        if name:
            return name
    return getattr(exc, "message", None) or str(exc)


def _fee_fields(web3) -> dict:
    base = web3.eth.get_block("latest").get("baseFeePerGas")
    if base is not None:
        tip = web3.to_wei(1, "gwei")
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": int(base) * 2 + tip}
    return {"gasPrice": web3.eth.gas_price}


def _is_topup(row: ChainTransaction) -> bool:
    return row.contract_name == GAS_TOPUP_CONTRACT and row.function == GAS_TOPUP_FUNCTION


def _topup_amount(row: ChainTransaction, web3, fee: dict) -> int:
    """Wei the wallet lacks for `args[0]` gas at `fee` (the `_fee_fields` of the transaction
    that sends it; the node wants gas limit x max fee up front)."""
    per_gas = fee.get("maxFeePerGas", fee.get("gasPrice", 0))
    balance = web3.eth.get_balance(row.to_address)
    return max(0, int(row.args[0]) * int(per_gas) - int(balance))


def _build_topup_tx(row: ChainTransaction, web3, fee: dict | None = None, value: int | None = None) -> dict:
    """The ETH sent is priced at the very max fee this transaction offers. `fee` and `value` are
    the ones `_step` already read (read here when not given)."""
    if fee is None:
        fee = _fee_fields(web3)
    if value is None:
        value = _topup_amount(row, web3, fee)
    tx = {"from": gateway.address_of(row.sender), "to": row.to_address, "value": value,
          "gas": 21_000, "chainId": int(web3.eth.chain_id)}
    tx.update(fee)
    return tx


def _build_tx(row: ChainTransaction, web3) -> dict:
    if _is_topup(row):
        return _build_topup_tx(row, web3)
    sender = gateway.address_of(row.sender)
    args = gateway.coerce_args(row.contract_name, row.function, row.args)
    if row.function == "constructor":
        tx = gateway.contract(row.contract_name, web3=web3).constructor(*args).build_transaction(
            {"from": sender, "nonce": 0, "gas": 0})
    else:
        fn = getattr(gateway.contract(row.contract_name, row.to_address, web3=web3).functions, row.function)
        tx = fn(*args).build_transaction({"from": sender, "nonce": 0, "gas": 0})
    tx.pop("gas", None)
    tx.pop("nonce", None)
    # Estimating first: a call that would revert fails here, before consuming a nonce.
    gas = web3.eth.estimate_gas({k: v for k, v in tx.items() if k in ("from", "to", "data", "value")})
    tx["gas"] = int(gas * GAS_HEADROOM) + 10_000
    tx["chainId"] = int(web3.eth.chain_id)
    for k in ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"):
        tx.pop(k, None)
    tx.update(_fee_fields(web3))
    return tx


def _sign(row: ChainTransaction, web3, tx: dict | None = None) -> None:
    """Allocate a nonce, sign, and persist raw bytes + hash in one DB transaction. `tx`: the
    unsigned transaction when the caller already built it (built here otherwise)."""
    if tx is None:
        tx = _build_tx(row, web3)
    acct = gateway.account(row.sender)
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=row.pk)
        if locked.raw_tx or locked.status != S.PENDING:
            return
        counter, _ = SenderNonce.objects.get_or_create(chain_id=tx["chainId"], address=acct.address)
        counter = SenderNonce.objects.select_for_update().get(pk=counter.pk)
        # Read under the counter lock: a count read before it could predate another
        # worker's transaction that has since been mined, and hand its nonce out again.
        chain_pending = web3.eth.get_transaction_count(acct.address, "pending")
        nonce = max(counter.next_nonce, chain_pending)
        if nonce > chain_pending and not _in_flight(acct.address, tx["chainId"], chain_pending, row.pk):
            # The node is behind our counter with none of ours in the gap (e.g. a reset dev
            # chain): a gap would stall every later transaction, so follow the node.
            nonce = chain_pending
        tx["nonce"] = nonce
        signed = acct.sign_transaction(tx)
        counter.next_nonce = nonce + 1
        counter.save(update_fields=["next_nonce", "updated_at"])
        locked.nonce = nonce
        locked.chain_id = tx["chainId"]
        locked.sender_address = acct.address
        locked.gas_limit = tx["gas"]
        locked.raw_tx = "0x" + bytes(signed.raw_transaction).hex()
        locked.tx_hash = "0x" + bytes(signed.hash).hex()
        locked.error = ""
        locked.save(update_fields=["nonce", "chain_id", "sender_address", "gas_limit", "raw_tx", "tx_hash",
                                   "error", "updated_at"])
    row.refresh_from_db()


def _in_flight(address: str, chain: int, from_nonce: int, exclude_pk: int) -> bool:
    return (ChainTransaction.objects
            .filter(sender_address=address, chain_id=chain, status__in=[S.PENDING, S.SUBMITTED],
                    nonce__gte=from_nonce)
            .exclude(raw_tx="").exclude(pk=exclude_pk).exists())


def _broadcast(row: ChainTransaction, web3) -> None:
    try:
        web3.eth.send_raw_transaction(row.raw_tx)
    except (ValueError, Web3RPCError) as exc:
        text = str(exc).lower()
        # Already in the pool or already mined: the receipt check decides what happened.
        if not any(s in text for s in ("already known", "nonce too low", "already imported", "known transaction")):
            raise
    ChainTransaction.objects.filter(pk=row.pk, status=S.PENDING).update(
        status=S.SUBMITTED, submitted_at=timezone.now(), updated_at=timezone.now())
    row.refresh_from_db()


DROP_CHECKS = 2  # rounds of (nonce, receipt, transaction) before a row counts as dropped
DROP_RECHECK_S = 0.5


def _known_by_hash(web3, tx_hash: str) -> bool:
    """A node knows our transaction: mined (receipt) or at least seen (pending)."""
    for lookup in (web3.eth.get_transaction_receipt, web3.eth.get_transaction):
        try:
            if lookup(tx_hash) is not None:
                return True
        except TransactionNotFound:
            pass
    return False


def _dropped(row: ChainTransaction, web3) -> bool:
    """Our bytes can never be mined: the sender's nonce is used, and then neither a receipt
    nor the transaction itself is known for our hash, twice over. Behind a load-balanced RPC
    each call may reach a different node: one that already counts the nonce used (because our
    own transaction was mined) and a lagging one that knows nothing of it yet. Asking for the
    hash after the nonce, and again after a pause, keeps such a lag from signing the row a
    second time."""
    if row.nonce is None or not row.tx_hash:
        return False
    for attempt in range(DROP_CHECKS):
        if web3.eth.get_transaction_count(row.sender_address, "latest") <= row.nonce:
            return False  # the nonce is still free: ours can still be mined
        if _known_by_hash(web3, row.tx_hash):
            return False
        if attempt + 1 < DROP_CHECKS:
            time.sleep(DROP_RECHECK_S)
    return True


def _resign(row: ChainTransaction, why: str) -> None:
    logger.warning("Outbox row %s: %s; signing again with a fresh nonce", row.pk, why)
    _open(row).filter(status=S.SUBMITTED, tx_hash=row.tx_hash).update(
        status=S.PENDING, raw_tx="", tx_hash="", nonce=None, error=why, submitted_at=None,
        updated_at=timezone.now())


def _record_receipt(row: ChainTransaction, receipt, web3) -> None:
    logs = gateway.decode_logs(receipt["logs"], _decode_with(row))
    data = {
        "blockNumber": int(receipt["blockNumber"]),
        "blockHash": "0x" + bytes(receipt["blockHash"]).hex(),
        "gasUsed": int(receipt["gasUsed"]),
        "status": int(receipt["status"]),
        "contractAddress": receipt.get("contractAddress") or "",
        "logs": logs,
    }
    if int(receipt["status"]) != 1:
        _fail(row, _replay_revert(row, web3, int(receipt["blockNumber"])), receipt=data,
              block_number=data["blockNumber"])
        return
    _open(row).update(
        status=S.MINED, receipt=data, block_number=data["blockNumber"],
        contract_address=data["contractAddress"] or "", error="", updated_at=timezone.now())


def _decode_with(row: ChainTransaction) -> list[str]:
    names = [row.contract_name]
    if row.contract_name == "TokenFactory":
        names.append("SecurityToken")
    if row.contract_name == "Settlement":  # a fill's token leg logs Transfer on the token
        names.append("SecurityToken")
    if _is_topup(row):
        return []
    return names


def _replay_revert(row: ChainTransaction, web3, block: int) -> str:
    try:
        tx = web3.eth.get_transaction(row.tx_hash)
        web3.eth.call({"from": tx["from"], "to": tx.get("to"), "data": tx["input"], "gas": tx["gas"]}, block - 1)
    except ContractLogicError as exc:
        return f"reverted: {_revert_message(exc)}"
    except Exception as exc:
        return f"reverted ({exc.__class__.__name__})"
    return "reverted"


def _check_confirmations(row: ChainTransaction, web3) -> None:
    needed = max(1, int(getattr(settings, "CHAIN_CONFIRMATIONS", 1)))
    head = web3.eth.block_number
    if head - row.block_number + 1 < needed:
        return
    # Reorg guard: the receipt must still be where we saw it.
    try:
        receipt = web3.eth.get_transaction_receipt(row.tx_hash)
    except TransactionNotFound:
        ChainTransaction.objects.filter(pk=row.pk).update(status=S.SUBMITTED, receipt=None, block_number=None)
        return
    if "0x" + bytes(receipt["blockHash"]).hex() != (row.receipt or {}).get("blockHash"):
        _record_receipt(row, receipt, web3)
        return
    ChainTransaction.objects.filter(pk=row.pk, status=S.MINED).update(
        status=S.CONFIRMED, confirmed_at=timezone.now(), updated_at=timezone.now())


def _wait_for_predecessor(row: ChainTransaction) -> bool:
    """True while the row must wait for the row it is ordered after; fails it if that failed."""
    if row.after_id is None or row.raw_tx:
        return False
    before = ChainTransaction.objects.filter(pk=row.after_id).values_list("status", "error").first()
    if before is None or before[0] == S.CONFIRMED:
        return False
    if before[0] == S.FAILED:
        _open(row).filter(status=S.PENDING, raw_tx="").update(
            status=S.FAILED, error=f"not sent: the transaction it follows failed ({before[1]})"[:2000],
            updated_at=timezone.now())
        row.refresh_from_db()
    return True


def _step(row: ChainTransaction, web3) -> None:
    if _wait_for_predecessor(row):
        return
    topup = None  # (fee, value) a top-up was just priced at: it is signed at that, not read again
    if row.status == S.PENDING and not row.raw_tx and _is_topup(row):
        fee = _fee_fields(web3)
        value = _topup_amount(row, web3, fee)
        topup = (fee, value)
        if value == 0:
            # The wallet already holds enough ETH: nothing to send, the rows after it may go.
            _open(row).filter(status=S.PENDING, raw_tx="").update(
                status=S.CONFIRMED, error="", receipt={"skipped": "balance suffices"},
                confirmed_at=timezone.now(), updated_at=timezone.now())
            row.refresh_from_db()
            return
    if row.status == S.PENDING and not row.raw_tx:
        try:
            _sign(row, web3, _build_topup_tx(row, web3, *topup) if topup is not None else None)
        except ContractLogicError as exc:
            # The node says this call reverts now: fail without spending a nonce or gas, unless
            # another worker signed the row meanwhile (its own transaction is why it reverts).
            _open(row).filter(status=S.PENDING, raw_tx="").update(
                status=S.FAILED, error=f"would revert: {_revert_message(exc)}"[:2000], updated_at=timezone.now())
            row.refresh_from_db()
            return
    if row.status == S.PENDING and row.raw_tx:
        _broadcast(row, web3)
    if row.status == S.SUBMITTED:
        try:
            receipt = web3.eth.get_transaction_receipt(row.tx_hash)
        except TransactionNotFound:
            receipt = None
        if receipt is None:
            try:
                web3.eth.get_transaction(row.tx_hash)
                return  # known to the node, waiting to be mined
            except TransactionNotFound:
                pass
            if _dropped(row, web3):
                _resign(row, "dropped: nonce used by another transaction")
                return
            # Lost from the node's pool (e.g. node restart): send the same bytes again.
            _open(row).filter(status=S.SUBMITTED, tx_hash=row.tx_hash).update(status=S.PENDING)
            row.refresh_from_db()
            _broadcast(row, web3)
            return
        _record_receipt(row, receipt, web3)
        row.refresh_from_db()
    if row.status == S.MINED:
        _check_confirmations(row, web3)


def process_one(tx_id: int) -> ChainTransaction | None:
    """Advance one row as far as it can go now; never raises for node trouble."""
    row = ChainTransaction.objects.filter(pk=tx_id).first()
    if row is None:  # a stale task message (e.g. its DB transaction rolled back)
        return None
    if not row.is_final:
        web3 = gateway.w3()
        try:
            _step(row, web3)
        except (OSError, ConnectionError, gateway.ChainUnavailable, TimeoutError) as exc:
            row.refresh_from_db()
            _backoff(row, f"node unavailable: {exc}")
        except (ValueError, Web3RPCError) as exc:
            row.refresh_from_db()
            _backoff(row, f"node error: {exc}")
        else:
            row.refresh_from_db()
            if row.attempts or row.next_attempt_at:
                ChainTransaction.objects.filter(pk=row.pk).update(next_attempt_at=None)
    row.refresh_from_db()
    if row.is_final and not row.hook_done:
        hooks.run(row)
        row.refresh_from_db()
    if row.is_final:
        _release_followers(row)
    return row


def _release_followers(row: ChainTransaction) -> None:
    """Rows ordered after this one can move now (sent, or failed with it)."""
    for pk in ChainTransaction.objects.filter(after_id=row.pk, status=S.PENDING, raw_tx="").values_list(
            "pk", flat=True):
        enqueue_on_commit("chain.tasks.outbox_process", pk)


def sweep(*, limit: int = 200) -> int:
    """Periodic: advance every row that is not final and whose backoff has passed, in nonce
    order per sender; also retries hooks that failed. Returns how many rows it touched."""
    now = timezone.now()
    rows = (ChainTransaction.objects
            .exclude(status__in=[S.CONFIRMED, S.FAILED])
            .filter(models_q_due(now))
            .order_by("nonce", "id")
            .values_list("pk", flat=True)[:limit])
    ids = list(rows)
    ids += list(ChainTransaction.objects.filter(status__in=[S.CONFIRMED, S.FAILED], hook_done=False)
                .values_list("pk", flat=True)[:limit])
    for pk in ids:
        process_one(pk)
    return len(ids)


def models_q_due(now):
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def drain(*, ids=None, timeout: float = 30.0, ignore_backoff: bool = True) -> list[ChainTransaction]:
    """Process rows synchronously until all are final or `timeout` passes (tests, the demo
    seeder, the bootstrap command). Local anvil mines instantly, so this is quick."""
    deadline = time.monotonic() + timeout
    qs = ChainTransaction.objects.all() if ids is None else ChainTransaction.objects.filter(pk__in=ids)
    while True:
        open_ids = list(qs.exclude(status__in=[S.CONFIRMED, S.FAILED]).order_by("nonce", "id")
                        .values_list("pk", flat=True))
        hook_ids = list(qs.filter(status__in=[S.CONFIRMED, S.FAILED], hook_done=False).values_list("pk", flat=True))
        if not open_ids and not hook_ids:
            break
        for pk in open_ids + hook_ids:
            if ignore_backoff:
                ChainTransaction.objects.filter(pk=pk).update(next_attempt_at=None)
            process_one(pk)
        if time.monotonic() > deadline:
            break
        if open_ids:
            time.sleep(0.05)
    return list(qs.order_by("id"))

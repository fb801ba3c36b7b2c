import secrets

import pytest
from django.db import transaction

from chain import gateway, hooks, processor
from chain.models import ChainTransaction, SenderNonce
from chain.selectors import deployment_address
from chain.services import outbox_enqueue
from chain.tests.helpers import enqueue_deploy, token_deployed_logs
from core.models import AuditEvent

pytestmark = pytest.mark.chain
S = ChainTransaction.Status
CALLS: list[tuple[str, str]] = []


def record_hook(row):
    CALLS.append((row.idempotency_key, row.status))


def _device_id() -> str:
    return "0x" + secrets.token_hex(32)


def test_enqueue_is_idempotent_and_audited(chain_ready):
    dev = _device_id()
    first = enqueue_deploy(dev)
    again = enqueue_deploy(dev)
    assert first.pk == again.pk
    assert ChainTransaction.objects.count() == ChainTransaction.objects.filter(kind="chain.bootstrap").count() + 1
    assert AuditEvent.objects.filter(action="chain.outbox_enqueue", object_id=str(first.pk)).count() == 1


def test_deploy_moves_pending_to_confirmed_with_decoded_logs(chain_ready, drain_outbox):
    dev = _device_id()
    row = enqueue_deploy(dev)
    assert row.status == S.PENDING
    (row,) = drain_outbox(ids=[row.pk])
    assert row.status == S.CONFIRMED, row.error
    assert row.tx_hash.startswith("0x") and row.nonce is not None and row.block_number
    deployed = [lg for lg in row.receipt["logs"] if lg["event"] == "TokenDeployed"]
    assert len(deployed) == 1
    token = deployed[0]["args"]["token"]
    assert gateway.call("TokenFactory", deployment_address("TokenFactory"), "tokenForDevice", dev) == token
    assert gateway.call("SecurityToken", token, "decimals") == 0


def test_consecutive_rows_get_distinct_consecutive_nonces(chain_ready, drain_outbox):
    rows = [enqueue_deploy(_device_id()) for _ in range(3)]
    done = drain_outbox(ids=[r.pk for r in rows])
    nonces = sorted(r.nonce for r in done)
    assert all(r.status == S.CONFIRMED for r in done)
    assert nonces == list(range(nonces[0], nonces[0] + 3))
    agent = gateway.address_of("agent")
    assert SenderNonce.objects.get(address=agent).next_nonce == nonces[-1] + 1


def test_call_that_would_revert_fails_without_spending_a_nonce(chain_ready, drain_outbox):
    row = enqueue_deploy("0x" + "00" * 32)
    (row,) = drain_outbox(ids=[row.pk])
    assert row.status == S.FAILED
    assert "InvalidDeviceId" in row.error
    assert row.nonce is None and row.tx_hash == ""


def test_a_stale_worker_never_fails_a_row_another_worker_sent(chain_ready, drain_outbox):
    """Worker B read the row while it was pending; worker A then signed, sent and confirmed it.
    B's gas estimate now reverts (the token exists) — that must not mark A's row failed."""
    row = enqueue_deploy(_device_id())
    stale = ChainTransaction.objects.get(pk=row.pk)
    (done,) = drain_outbox(ids=[row.pk])
    assert done.status == S.CONFIRMED
    processor._step(stale, gateway.w3())
    done.refresh_from_db()
    assert done.status == S.CONFIRMED and done.error == ""


def test_node_down_keeps_row_pending_and_backs_off(chain_ready, settings):
    row = enqueue_deploy(_device_id())
    good_url = settings.CHAIN_RPC_URL
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"
    row = processor.process_one(row.pk)
    assert row.status == S.PENDING
    assert row.attempts == 1 and "unavailable" in row.error and row.next_attempt_at is not None
    settings.CHAIN_RPC_URL = good_url
    (row,) = processor.drain(ids=[row.pk])
    assert row.status == S.CONFIRMED


def test_dropped_transaction_is_signed_again(chain_ready, drain_outbox):
    """Our signed tx's nonce gets used by another transaction: our bytes can never be
    mined, so the row is re-signed with a fresh nonce and still completes once."""
    dev = _device_id()
    row = enqueue_deploy(dev)
    web3 = gateway.w3()
    processor._sign(row, web3)
    row.refresh_from_db()
    stolen_nonce = row.nonce
    agent = gateway.account("agent")
    other = agent.sign_transaction({"to": agent.address, "value": 0, "gas": 21000, "nonce": stolen_nonce,
                                    "gasPrice": web3.eth.gas_price * 2, "chainId": 31337})
    web3.eth.send_raw_transaction(other.raw_transaction)
    (row,) = drain_outbox(ids=[row.pk])
    assert row.status == S.CONFIRMED
    assert row.nonce != stolen_nonce
    assert len(token_deployed_logs(dev)) == 1


def test_hooks_run_once_when_final(chain_ready, drain_outbox):
    hooks.register("test.hooked", "chain.tests.test_outbox.record_hook")
    CALLS.clear()
    row = enqueue_deploy(_device_id(), kind="test.hooked")
    drain_outbox(ids=[row.pk])
    processor.process_one(row.pk)
    assert [(row.idempotency_key, S.CONFIRMED)] == CALLS


def test_enqueue_requires_address_for_calls(db):
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError), transaction.atomic():
        outbox_enqueue(actor=None, idempotency_key="x", kind="k", contract_name="SecurityToken",
                       function="pause", args=[])


def test_keys_load_from_encrypted_keystore(tmp_path, settings):
    key = "0x" + "42" * 32
    gateway.write_keystore(role="agent", private_key=key, password="pw-123", directory=str(tmp_path))
    settings.CHAIN_KEYSTORE_DIR = str(tmp_path)
    settings.CHAIN_KEYSTORE_PASSWORD = "pw-123"
    gateway.account.cache_clear()
    try:
        from eth_account import Account

        assert gateway.address_of("agent") == Account.from_key(key).address
    finally:
        gateway.account.cache_clear()

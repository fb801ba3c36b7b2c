"""Kill the node during a pending deployment, restart it from its state file, and the
outbox completes the deployment exactly once (same signed transaction, no second deploy).
Also: a worker dying right after broadcasting is recovered without a second transaction."""

import secrets

import pytest

from chain import gateway, processor
from chain.models import ChainTransaction
from chain.tests.helpers import enqueue_deploy, token_deployed_logs
from tests.fixtures.chain import chain_ready_on

pytestmark = pytest.mark.chain
S = ChainTransaction.Status


def test_kill_anvil_during_pending_deploy_then_restart_completes_once(fresh_anvil, db, settings):
    chain_ready_on(fresh_anvil, settings)
    fresh_anvil.wait_state_flushed()
    dev = "0x" + secrets.token_hex(32)
    row = enqueue_deploy(dev)

    # Hold the transaction in the mempool: broadcast but not mined.
    gateway.w3().provider.make_request("evm_setAutomine", [False])
    row = processor.process_one(row.pk)
    assert row.status == S.SUBMITTED
    signed_hash = row.tx_hash

    fresh_anvil.kill()  # kill -9: the mempool is gone
    row = processor.process_one(row.pk)
    assert row.status == S.SUBMITTED and row.attempts == 1 and "unavailable" in row.error

    fresh_anvil.start()  # same state file, automine back on
    assert token_deployed_logs(dev) == []  # the pending deploy did not survive the crash
    (row,) = processor.drain(ids=[row.pk])

    assert row.status == S.CONFIRMED
    assert row.tx_hash == signed_hash  # re-broadcast of the stored bytes, never re-signed
    logs = token_deployed_logs(dev)
    assert len(logs) == 1
    assert ChainTransaction.objects.filter(kind="test.deploy").count() == 1


def test_worker_dying_after_broadcast_does_not_send_twice(fresh_anvil, db, settings, monkeypatch):
    chain_ready_on(fresh_anvil, settings)
    dev = "0x" + secrets.token_hex(32)
    row = enqueue_deploy(dev)
    original = processor._broadcast

    def send_then_die(r, web3):
        web3.eth.send_raw_transaction(r.raw_tx)
        raise RuntimeError("worker killed after sending")

    monkeypatch.setattr(processor, "_broadcast", send_then_die)
    with pytest.raises(RuntimeError):
        processor.process_one(row.pk)
    row.refresh_from_db()
    assert row.status == S.PENDING and row.raw_tx  # DB never learnt it was sent
    monkeypatch.setattr(processor, "_broadcast", original)

    (row,) = processor.drain(ids=[row.pk])
    assert row.status == S.CONFIRMED
    assert len(token_deployed_logs(dev)) == 1
    nonce_after = gateway.w3().eth.get_transaction_count(gateway.address_of("agent"))
    assert nonce_after == row.nonce + 1  # exactly one agent transaction for this intent


def test_offering_deploy_survives_a_node_crash_without_a_second_token(fresh_anvil, db, settings, platform_admin):
    from tokens.models import OfferingStatus
    from tokens.offerings import services
    from tokens.tests.factories import accept_pricing, clinic_admin_of, make_certified_device, offering_terms

    chain_ready_on(fresh_anvil, settings)
    fresh_anvil.wait_state_flushed()
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    accept_pricing(offering)
    services.offering_deploy(actor=platform_admin, offering=offering)
    row = ChainTransaction.objects.get(idempotency_key=offering.deploy_key)

    gateway.w3().provider.make_request("evm_setAutomine", [False])
    assert processor.process_one(row.pk).status == S.SUBMITTED
    fresh_anvil.kill()
    processor.sweep()  # the periodic task while the node is down: nothing moves, nothing fails
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.DEPLOYING

    fresh_anvil.start()
    processor.drain(timeout=60)
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.LIVE, offering.error
    assert len(token_deployed_logs(offering.chain_device_id)) == 1
    assert ChainTransaction.objects.filter(kind="tokens.deploy").count() == 1

"""Several outbox workers racing on the same rows (as Celery workers with acks_late and the
periodic sweep do): every intent is sent exactly once, with distinct consecutive nonces.
Real row locks need PostgreSQL (CI runs this suite with DATABASE_URL); on SQLite the test
still runs, serialized by BEGIN IMMEDIATE (see chain/processor.py)."""

import secrets
import threading

import pytest
from django.db import connection, connections

from chain import gateway, processor
from chain.models import ChainTransaction
from chain.tests.helpers import enqueue_deploy, token_deployed_logs

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]
S = ChainTransaction.Status
WORKERS = 4
ROWS = 6


def test_racing_workers_send_each_intent_once(transactional_db, chain_ready):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("in-memory SQLite test database is not shared safely between threads")
    devices = ["0x" + secrets.token_hex(32) for _ in range(ROWS)]
    rows = [enqueue_deploy(d) for d in devices]
    ids = [r.pk for r in rows]
    agent = gateway.address_of("agent")
    start_nonce = gateway.w3().eth.get_transaction_count(agent, "pending")
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def worker(order: list[int]) -> None:
        try:
            barrier.wait()
            for _ in range(3):  # every worker tries every row, several times, in its own order
                for pk in order:
                    processor.process_one(pk)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    orders = [ids, ids[::-1], ids[1::2] + ids[::2], ids[::2] + ids[1::2]]
    threads = [threading.Thread(target=worker, args=(orders[i],)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    done = processor.drain(ids=ids, timeout=30)

    assert all(r.status == S.CONFIRMED for r in done), [(r.status, r.error) for r in done]
    nonces = sorted(r.nonce for r in done)
    assert nonces == list(range(start_nonce, start_nonce + ROWS))
    assert gateway.w3().eth.get_transaction_count(agent, "latest") == start_nonce + ROWS  # nothing extra sent
    for d in devices:
        assert len(token_deployed_logs(d)) == 1

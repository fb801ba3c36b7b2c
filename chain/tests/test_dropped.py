"""The outbox decides a transaction was dropped only after checking the nonce, the receipt and
the transaction by hash, so a lagging node behind a load-balanced RPC cannot make it sign a row
a second time (issue 9, item 10)."""

from types import SimpleNamespace

import pytest
from web3.exceptions import TransactionNotFound

from chain import processor


class LoadBalancedEth:
    """Each call answered by the next node in a round robin: `views` lists what each node knows."""

    def __init__(self, views):
        self.views, self.calls = views, 0

    def _node(self):
        node = self.views[self.calls % len(self.views)]
        self.calls += 1
        return node

    def get_transaction_count(self, address, block):
        return self._node()["count"]

    def get_transaction_receipt(self, tx_hash):
        if not self._node()["receipt"]:
            raise TransactionNotFound(tx_hash)
        return {"status": 1}

    def get_transaction(self, tx_hash):
        if not self._node()["tx"]:
            raise TransactionNotFound(tx_hash)
        return {"hash": tx_hash}


ROW = SimpleNamespace(nonce=5, tx_hash="0x" + "ab" * 32, sender_address="0x" + "11" * 20)
AHEAD = {"count": 6, "receipt": True, "tx": True}  # our transaction was mined at nonce 5
LAGGING = {"count": 6, "receipt": False, "tx": False}  # counts the nonce, has not indexed our tx yet


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(processor, "DROP_RECHECK_S", 0)


def test_mined_transaction_seen_through_a_lagging_node_is_not_dropped():
    # nonce → lagging node, receipt → lagging, tx → lagging, then the next round reaches a node that knows it.
    web3 = SimpleNamespace(eth=LoadBalancedEth([LAGGING, LAGGING, LAGGING, AHEAD, AHEAD, AHEAD]))
    assert processor._dropped(ROW, web3) is False


def test_free_nonce_is_never_dropped():
    web3 = SimpleNamespace(eth=LoadBalancedEth([{"count": 5, "receipt": False, "tx": False}]))
    assert processor._dropped(ROW, web3) is False


def test_replaced_transaction_is_dropped_after_every_check_agrees():
    eth = LoadBalancedEth([LAGGING])
    assert processor._dropped(ROW, SimpleNamespace(eth=eth)) is True
    assert eth.calls == processor.DROP_CHECKS * 3  # nonce, receipt and transaction, every round

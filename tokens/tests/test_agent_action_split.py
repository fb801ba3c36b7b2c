"""Four-eyes on forced transfers cannot be dodged by splitting one into small pieces."""

import pytest

from tokens.offerings import services
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db


def test_forced_transfers_split_into_pieces_still_need_a_second_officer(compliance_officer, settings):
    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 100
    offering = make_live_offering()
    wallet, dest = "0x" + "ab" * 20, "0x" + "cd" * 20
    first = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                          wallet=wallet, to_wallet=dest, amount=60, reason="Court order 1")
    assert first.state == "submitted" and first.chain_tx is not None
    second = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                           wallet=wallet, to_wallet=dest, amount=60, reason="Court order 1, rest")
    assert second.state == "awaiting_confirmation" and second.chain_tx is None  # 120 units in a day

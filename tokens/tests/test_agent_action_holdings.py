"""Issue 18: an officer's forced transfer (or partial freeze/unfreeze) asking for more units than
the wallet holds is refused with the wallet's holding before anything is recorded, and again when
a second officer confirms a held one; the requester of a held action is told who must act,
not shown a Confirm button they cannot use. The chain is replaced at its port (gateway.call)."""

import secrets

import pytest
from django.urls import reverse

from chain import gateway
from chain.models import ChainTransaction
from core.errors import ApplicationError
from core.models import AuditEvent
from tokens.models import AgentAction
from tokens.offerings import agent_confirmations, services
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db


def _wallet() -> str:
    return "0x" + secrets.token_hex(20)


@pytest.fixture
def holdings(monkeypatch):
    """{wallet: (balance, frozen)} as the token answers them."""
    held: dict[str, tuple[int, int]] = {}
    real_call = gateway.call

    def call(contract_name, address, function, *args):
        if contract_name == "SecurityToken" and function in ("balanceOf", "getFrozenTokens"):
            balance, frozen = held.get(args[0].lower(), (0, 0))
            return balance if function == "balanceOf" else frozen
        return real_call(contract_name, address, function, *args)

    monkeypatch.setattr(gateway, "call", call)

    class Holdings:
        def set(self, wallet, balance, frozen=0):
            held[wallet.lower()] = (balance, frozen)

    return Holdings()


def _nothing_recorded():
    return (AgentAction.objects.count(), ChainTransaction.objects.count(),
            AuditEvent.objects.filter(action__startswith="tokens.agent").count())


def test_a_forced_transfer_beyond_the_balance_is_refused_before_anything_is_recorded(
        compliance_officer, holdings, api_as, client):
    offering, alice, bob = make_live_offering(), _wallet(), _wallet()
    holdings.set(alice, 4)
    before = _nothing_recorded()
    with pytest.raises(ApplicationError) as exc:
        services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                      wallet=alice, to_wallet=bob, amount=150, reason="Court order 18")
    assert (exc.value.code, exc.value.status) == ("amount_exceeds_holding", 409)
    assert exc.value.message == "The wallet holds 4 units; a forced transfer cannot move 150."
    assert exc.value.details["available"] == 4 and exc.value.details["requested"] == 150
    assert _nothing_recorded() == before

    r = api_as(compliance_officer).post(f"/api/v1/tokens/offerings/{offering.pk}/actions/", {
        "kind": "forced_transfer", "wallet": alice, "to_wallet": bob, "amount": 150, "reason": "Court order 18"},
        format="json")
    assert r.status_code == 409, r.json()
    assert r.json()["error"]["code"] == "amount_exceeds_holding" and r.json()["error"]["details"]["available"] == 4

    client.force_login(compliance_officer)
    page = client.post(reverse("tokens:agent-actions", args=[offering.pk]), {
        "kind": "forced_transfer", "wallet": alice, "to_wallet": bob, "amount": 150, "reason": "Court order 18"})
    assert page.status_code == 200
    assert "The wallet holds 4 units; a forced transfer cannot move 150." in page.content.decode()
    assert _nothing_recorded() == before

    # What it holds can be moved.
    action = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                           wallet=alice, to_wallet=bob, amount=4, reason="Court order 18")
    assert action.state == "submitted" and action.chain_tx is not None


def test_partial_freezes_and_unfreezes_are_bounded_by_what_the_wallet_holds(compliance_officer, holdings):
    offering, alice = make_live_offering(), _wallet()
    holdings.set(alice, 10, frozen=8)
    with pytest.raises(ApplicationError) as exc:
        services.agent_action_request(actor=compliance_officer, offering=offering, kind="freeze_partial",
                                      wallet=alice, amount=3, reason="Dispute")
    assert exc.value.status == 409 and exc.value.message == "The wallet has 2 unfrozen units; 3 cannot be frozen."
    with pytest.raises(ApplicationError) as exc:
        services.agent_action_request(actor=compliance_officer, offering=offering, kind="unfreeze_partial",
                                      wallet=alice, amount=9, reason="Settled")
    assert exc.value.status == 409 and exc.value.message == "The wallet has 8 frozen units; 9 cannot be unfrozen."
    assert not AgentAction.objects.exists()

    assert services.agent_action_request(actor=compliance_officer, offering=offering, kind="freeze_partial",
                                         wallet=alice, amount=2, reason="Dispute").chain_tx is not None
    assert services.agent_action_request(actor=compliance_officer, offering=offering, kind="unfreeze_partial",
                                         wallet=alice, amount=8, reason="Settled").chain_tx is not None


def test_a_held_forced_transfer_is_checked_again_when_confirmed(compliance_officer, compliance_officer2, holdings,
                                                                settings, api_as):
    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 100
    offering, alice, bob = make_live_offering(), _wallet(), _wallet()
    holdings.set(alice, 200)
    held = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                         wallet=alice, to_wallet=bob, amount=150, reason="Court order 19")
    assert held.state == "awaiting_confirmation"

    holdings.set(alice, 4)  # the units left the wallet meanwhile
    outbox = ChainTransaction.objects.count()
    with pytest.raises(ApplicationError) as exc:
        agent_confirmations.agent_action_confirm(actor=compliance_officer2, action=held)
    assert (exc.value.code, exc.value.status) == ("amount_exceeds_holding", 409)
    assert exc.value.message.startswith("The wallet holds 4 units; a forced transfer cannot move 150.")
    r = api_as(compliance_officer2).post(f"/api/v1/tokens/actions/{held.pk}/confirm/", {})
    assert r.status_code == 409 and r.json()["error"]["details"]["available"] == 4
    held.refresh_from_db()
    assert (held.state, held.chain_tx, held.confirmed_by) == ("awaiting_confirmation", None, None)
    assert ChainTransaction.objects.count() == outbox
    assert not AuditEvent.objects.filter(action="tokens.agent_action_confirm").exists()

    holdings.set(alice, 150)
    confirmed = agent_confirmations.agent_action_confirm(actor=compliance_officer2, action=held)
    assert confirmed.state == "submitted" and confirmed.chain_tx is not None


def test_the_requester_of_a_held_action_is_told_who_must_confirm_it(client, compliance_officer, compliance_officer2,
                                                                     holdings, settings):
    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 100
    offering, alice = make_live_offering(), _wallet()
    holdings.set(alice, 200)
    services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                  wallet=alice, to_wallet=_wallet(), amount=150, reason="Court order 20")
    for url in (reverse("tokens:agent-actions", args=[offering.pk]),
                reverse("tokens:agent-actions-status", args=[offering.pk])):
        client.force_login(compliance_officer)
        page = client.get(url).content.decode()
        assert "Confirm (150 units)" not in page and "/confirm/" not in page
        assert "Waiting for another compliance officer to confirm it" in page
        assert "Withdraw request" in page  # the requester may still withdraw it

        client.force_login(compliance_officer2)
        page = client.get(url).content.decode()
        assert "Confirm (150 units)" in page and "Waiting for another compliance officer" not in page

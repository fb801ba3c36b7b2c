"""Compliance officers' forced transfer and wallet recovery on a real anvil, through the
outbox; the cap table (built from indexed events) follows once the transactions have
CHAIN_CONFIRMATIONS confirmations."""

import datetime as dt
import secrets

import pytest
from django.utils import timezone

from chain import gateway, processor
from chain.models import ChainTransaction
from chain.services import index_now
from core.errors import ApplicationError
from core.models import AuditEvent
from tokens import ledger
from tokens.models import AgentAction
from tokens.offerings import agent_confirmations, services
from tokens.tests.factories import (
    accept_pricing,
    approved_investor_wallets,
    clinic_admin_of,
    make_certified_device,
    mint_via_outbox,
    offering_terms,
    register_identity_via_outbox,
)

pytestmark = pytest.mark.chain
S = ChainTransaction.Status


def _wallet() -> str:
    return gateway.to_checksum("0x" + secrets.token_hex(20))


def _live_offering(platform_admin, drain_outbox):
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    accept_pricing(offering)
    services.offering_deploy(actor=platform_admin, offering=offering)
    drain_outbox()
    offering.refresh_from_db()
    assert offering.token_address, offering.error
    return offering


def _holdings(offering) -> dict[str, tuple[int, int]]:
    return {h["wallet"]: (h["units"], h["frozen_units"]) for h in ledger.cap_table(offering=offering)["holders"]}


def test_forced_transfer_through_the_outbox(chain_ready, platform_admin, compliance_officer, drain_outbox):
    offering = _live_offering(platform_admin, drain_outbox)
    token = offering.token_address
    alice, bob = _wallet(), _wallet()
    register_identity_via_outbox(alice, _wallet())
    register_identity_via_outbox(bob, _wallet(), 250)
    mint_via_outbox(offering, alice, 100)
    drain_outbox()
    services.agent_action_request(actor=compliance_officer, offering=offering, kind="freeze_partial",
                                  wallet=alice, amount=80, reason="Dispute")
    drain_outbox()

    action = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                           wallet=alice, to_wallet=bob, amount=90, reason="Court order 7")
    assert action.chain_tx.status == S.PENDING and action.chain_tx.function == "forcedTransfer"
    assert action.chain_tx.reason == "Court order 7"
    drain_outbox()
    action.chain_tx.refresh_from_db()
    assert action.chain_tx.status == S.CONFIRMED, action.chain_tx.error

    assert gateway.call("SecurityToken", token, "balanceOf", alice) == 10
    assert gateway.call("SecurityToken", token, "balanceOf", bob) == 90
    # 20 units were free, so the agent unfroze 70 of the 80 frozen: the 10 left stay frozen.
    assert gateway.call("SecurityToken", token, "getFrozenTokens", alice) == 10
    index_now()
    assert _holdings(offering) == {bob: (90, 0), alice: (10, 10)}
    assert AuditEvent.objects.filter(action="tokens.agent_forced_transfer", reason="Court order 7").exists()

    # A receiver that is not a verified investor: refused by the node, the row fails, no gas spent.
    stranger = _wallet()
    bad = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                        wallet=bob, to_wallet=stranger, amount=1, reason="Wrong wallet")
    drain_outbox()
    bad.chain_tx.refresh_from_db()
    assert bad.chain_tx.status == S.FAILED and "would revert" in bad.chain_tx.error
    assert not bad.chain_tx.tx_hash
    assert gateway.call("SecurityToken", token, "balanceOf", bob) == 90


def test_wallet_recovery_through_the_outbox(chain_ready, platform_admin, compliance_officer, compliance_officer2,
                                            investor, user_with_role, drain_outbox, settings):
    from core.roles import Role

    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 50
    offering = _live_offering(platform_admin, drain_outbox)
    token = offering.token_address
    lost, new = approved_investor_wallets(investor, compliance_officer2, drain_outbox)
    identity = investor.investor_profile.identity_address
    mint_via_outbox(offering, lost, 60)
    drain_outbox()
    services.agent_action_request(actor=compliance_officer, offering=offering, kind="freeze", wallet=lost,
                                  reason="Wallet reported lost")
    drain_outbox()

    # A wallet registered on chain but belonging to someone else on the platform is refused,
    # whatever identity the registry holds for it.
    _other_lost, other = approved_investor_wallets(user_with_role(Role.INVESTOR), compliance_officer2, drain_outbox)
    for stranger in (other, _wallet()):
        with pytest.raises(ApplicationError) as exc:
            services.agent_action_request(actor=compliance_officer, offering=offering, kind="recover",
                                          wallet=lost, to_wallet=stranger, reason="Lost key")
        assert exc.value.code == "wallets_not_same_investor"
    assert not AgentAction.objects.filter(kind="recover").exists()

    # 60 units are above the threshold: a second officer must confirm before anything is sent.
    action = services.agent_action_request(actor=compliance_officer, offering=offering, kind="recover",
                                           wallet=lost, to_wallet=new, reason="Lost key, ticket 991")
    assert (action.state, action.chain_tx, action.units) == ("awaiting_confirmation", None, 60)
    with pytest.raises(ApplicationError) as exc:
        agent_confirmations.agent_action_confirm(actor=compliance_officer, action=action)
    assert exc.value.code == "four_eyes"
    action = agent_confirmations.agent_action_confirm(actor=compliance_officer2, action=action, reason="Ticket seen")
    assert action.chain_tx.function == "recoveryAddress" and action.confirmed_by == compliance_officer2
    assert action.chain_tx.args[2].lower() == identity.lower()
    drain_outbox()
    action.chain_tx.refresh_from_db()
    assert action.chain_tx.status == S.CONFIRMED, action.chain_tx.error
    assert [lg["event"] for lg in action.chain_tx.receipt["logs"]][-1] == "RecoverySuccess"

    assert gateway.call("SecurityToken", token, "balanceOf", lost) == 0
    assert gateway.call("SecurityToken", token, "balanceOf", new) == 60
    assert gateway.call("SecurityToken", token, "isFrozen", new) is True  # the freeze follows the investor
    index_now()
    table = ledger.cap_table(offering=offering)
    assert [(h["wallet"], h["units"], h["frozen"]) for h in table["holders"]] == [(new, 60, True)]
    assert AuditEvent.objects.filter(action="tokens.agent_recover", reason="Lost key, ticket 991").exists()
    assert AuditEvent.objects.filter(action="tokens.agent_action_confirm", actor=compliance_officer2).exists()


def test_forced_transfer_above_the_threshold_needs_a_second_officer(
        chain_ready, platform_admin, compliance_officer, compliance_officer2, drain_outbox, settings, api_as):
    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 50
    offering = _live_offering(platform_admin, drain_outbox)
    token = offering.token_address
    alice, bob = _wallet(), _wallet()
    register_identity_via_outbox(alice, _wallet())
    register_identity_via_outbox(bob, _wallet())
    mint_via_outbox(offering, alice, 100)
    drain_outbox()
    small = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                          wallet=alice, to_wallet=bob, amount=50, reason="Court order 8")
    assert small.state == "submitted" and small.chain_tx is not None  # at the threshold: one officer
    r = api_as(compliance_officer).post(f"/api/v1/tokens/offerings/{offering.pk}/actions/", {
        "kind": "forced_transfer", "wallet": alice, "to_wallet": bob, "amount": 51, "reason": "Court order 9"})
    assert r.status_code == 201 and r.json()["state"] == "awaiting_confirmation" and r.json()["status"] is None
    big = AgentAction.objects.get(pk=r.json()["id"])
    drain_outbox()
    assert gateway.call("SecurityToken", token, "balanceOf", bob) == 50  # the big one was not sent
    r = api_as(compliance_officer).post(f"/api/v1/tokens/actions/{big.pk}/confirm/", {})
    assert r.status_code == 409 and r.json()["error"]["code"] == "four_eyes"
    r = api_as(compliance_officer2).post(f"/api/v1/tokens/actions/{big.pk}/reject/", {"reason": "No court order"})
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    r = api_as(compliance_officer2).post(f"/api/v1/tokens/actions/{big.pk}/confirm/", {})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_awaiting"
    # Alice has only 50 left: refused at once with her balance, not accepted to revert on chain.
    with pytest.raises(ApplicationError) as exc:
        services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                      wallet=alice, to_wallet=bob, amount=51, reason="Court order 9")
    assert (exc.value.code, exc.value.details["available"]) == ("amount_exceeds_holding", 50)
    again = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                          wallet=alice, to_wallet=bob, amount=50, reason="Court order 9")
    assert again.state == "awaiting_confirmation"  # 100 units from alice in a day
    r = api_as(compliance_officer2).post(f"/api/v1/tokens/actions/{again.pk}/confirm/", {})
    assert r.status_code == 200 and r.json()["status"] == "pending"
    drain_outbox()
    assert gateway.call("SecurityToken", token, "balanceOf", bob) == 100
    again.refresh_from_db()
    assert again.chain_tx.status == S.CONFIRMED


def test_forced_transfer_beyond_the_balance_is_refused_with_the_balance(
        chain_ready, platform_admin, compliance_officer, compliance_officer2, drain_outbox, settings, api_as, client):
    """Issue 18: 150 units from a 4-unit wallet used to be accepted, then fail on chain with a
    raw contract error; now refused before anything is recorded, and re-checked when a second
    officer confirms a held one (the holder may have moved units meanwhile)."""
    from django.urls import reverse

    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 100
    offering = _live_offering(platform_admin, drain_outbox)
    token = offering.token_address
    alice, bob, carol = _wallet(), _wallet(), _wallet()
    for w in (alice, bob, carol):
        register_identity_via_outbox(w, _wallet())
    mint_via_outbox(offering, alice, 4)
    drain_outbox()

    before = (AgentAction.objects.count(), ChainTransaction.objects.count())
    r = api_as(compliance_officer).post(f"/api/v1/tokens/offerings/{offering.pk}/actions/", {
        "kind": "forced_transfer", "wallet": alice, "to_wallet": bob, "amount": 150, "reason": "Court order 30"},
        format="json")
    assert r.status_code == 409, r.json()
    error = r.json()["error"]
    assert error["code"] == "amount_exceeds_holding" and error["details"]["available"] == 4
    assert error["message"] == "The wallet holds 4 units; a forced transfer cannot move 150."
    with pytest.raises(ApplicationError) as exc:
        services.agent_action_request(actor=compliance_officer, offering=offering, kind="freeze_partial",
                                      wallet=alice, amount=5, reason="Dispute")
    assert exc.value.message == "The wallet has 4 unfrozen units; 5 cannot be frozen."
    assert (AgentAction.objects.count(), ChainTransaction.objects.count()) == before
    assert not AuditEvent.objects.filter(action="tokens.agent_forced_transfer").exists()

    mint_via_outbox(offering, alice, 200)
    drain_outbox()
    held = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                         wallet=alice, to_wallet=bob, amount=150, reason="Court order 31")
    assert held.state == "awaiting_confirmation"
    client.force_login(compliance_officer)
    page = client.get(reverse("tokens:agent-actions", args=[offering.pk])).content.decode()
    assert "Confirm (150 units)" not in page and "Waiting for another compliance officer" in page

    # The holder moves 200 units away before the second officer looks.
    web3 = gateway.w3()
    web3.provider.make_request("anvil_impersonateAccount", [alice])
    web3.provider.make_request("anvil_setBalance", [alice, hex(10**18)])
    web3.eth.wait_for_transaction_receipt(
        gateway.contract("SecurityToken", token).functions.transfer(carol, 200).transact({"from": alice}))
    r = api_as(compliance_officer2).post(f"/api/v1/tokens/actions/{held.pk}/confirm/", {})
    assert r.status_code == 409 and r.json()["error"]["details"]["available"] == 4
    assert r.json()["error"]["message"].startswith("The wallet holds 4 units; a forced transfer cannot move 150.")
    held.refresh_from_db()
    assert (held.state, held.chain_tx) == ("awaiting_confirmation", None)
    r = api_as(compliance_officer2).post(f"/api/v1/tokens/actions/{held.pk}/reject/", {"reason": "Balance moved"})
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert gateway.call("SecurityToken", token, "balanceOf", alice) == 4


def test_cap_table_waits_for_confirmations(chain_ready, platform_admin, settings, drain_outbox):
    offering = _live_offering(platform_admin, drain_outbox)
    investor = _wallet()
    register_identity_via_outbox(investor, _wallet())
    drain_outbox()
    index_now()
    settings.CHAIN_CONFIRMATIONS = 3
    row = mint_via_outbox(offering, investor, 40)

    row = processor.process_one(row.pk)
    assert row.status == S.MINED  # in a block, not yet final
    index_now()
    assert ledger.cap_table(offering=offering)["supply"] == 0

    gateway.w3().provider.make_request("anvil_mine", [1])
    assert processor.process_one(row.pk).status == S.MINED
    index_now()
    assert ledger.cap_table(offering=offering)["supply"] == 0

    gateway.w3().provider.make_request("anvil_mine", [1])
    assert processor.process_one(row.pk).status == S.CONFIRMED
    index_now()
    table = ledger.cap_table(offering=offering)
    assert table["supply"] == 40 and _holdings(offering) == {investor: (40, 0)}


def test_forced_transfers_are_limited_in_time(chain_ready, platform_admin, compliance_officer, compliance_officer2,
                                              drain_outbox, settings):
    """Issue 15, item 6: one officer alone cannot move more than the threshold across wallets in
    a day, and a held forced transfer confirmed too late expires without moving anything."""
    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 50
    offering = _live_offering(platform_admin, drain_outbox)
    token = offering.token_address
    alice, carol, bob = _wallet(), _wallet(), _wallet()
    for w in (alice, carol, bob):
        register_identity_via_outbox(w, _wallet())
    mint_via_outbox(offering, alice, 40)
    mint_via_outbox(offering, carol, 40)
    drain_outbox()
    sent = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                         wallet=alice, to_wallet=bob, amount=40, reason="Court order 20")
    held = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                         wallet=carol, to_wallet=bob, amount=40, reason="Court order 21")
    assert sent.chain_tx is not None and (held.state, held.chain_tx) == ("awaiting_confirmation", None)

    AgentAction.objects.filter(pk=held.pk).update(created_at=timezone.now() - dt.timedelta(hours=25))
    with pytest.raises(ApplicationError) as exc:
        agent_confirmations.agent_action_confirm(actor=compliance_officer2, action=held)
    assert exc.value.code == "confirmation_expired"
    drain_outbox()
    assert gateway.call("SecurityToken", token, "balanceOf", bob) == 40  # only the one sent in time
    assert gateway.call("SecurityToken", token, "balanceOf", carol) == 40
    assert AuditEvent.objects.filter(action="tokens.agent_action_expire", actor=compliance_officer2).exists()

    again = services.agent_action_request(actor=compliance_officer, offering=offering, kind="forced_transfer",
                                          wallet=carol, to_wallet=bob, amount=40, reason="Court order 21, again")
    assert again.state == "awaiting_confirmation"
    agent_confirmations.agent_action_confirm(actor=compliance_officer2, action=again, reason="Order checked")
    drain_outbox()
    assert gateway.call("SecurityToken", token, "balanceOf", bob) == 80

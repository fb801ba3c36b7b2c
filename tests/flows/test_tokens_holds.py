"""Compliance holds bind on chain (issue 15, item 2), on a real anvil: a sanctions hit or a
revoked approval freezes the investor's wallets on every live token, so a self-custody
holder can neither send units nor claim income; income distributed during the hold accrues
and is claimable once the hold is released; an officer's own freeze outlives the release.

Regression: before, a held investor's self-custody wallet claimed 100 % of later income and
transferred units out (the registry only stops a wallet receiving)."""

import datetime as dt

import pytest
from django.db import transaction
from web3.exceptions import ContractLogicError

from chain import gateway
from chain.selectors import deployment_address
from chain.services import outbox_enqueue
from compliance import services as kyc
from compliance.selectors import active_approval, custodial_wallet
from core.errors import ApplicationError
from core.models import AuditEvent
from tokens.distributions import income
from tokens.models import HoldFreeze
from tokens.offerings.services import agent_action_request
from tokens.tests import distribution_world as world_mod

pytestmark = [pytest.mark.chain, pytest.mark.django_db]
USD = 10**6


@pytest.fixture
def world(chain_ready, platform_admin, drain_outbox):
    return world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)


def token(w):
    return gateway.contract("SecurityToken", w.offering.token_address)


def deposit(w, drain, amount: int, tag: str) -> None:
    """The agent deposits a pool of `amount` base units for all N units (each earns amount / N)."""
    stable, agent = deployment_address("MockStablecoin"), gateway.address_of("agent")
    with transaction.atomic():
        mint = outbox_enqueue(actor=None, idempotency_key=f"t-hold-dep:{tag}:mint", kind="test.deposit",
                              contract_name="MockStablecoin", function="mint", args=[agent, amount],
                              to_address=stable)
        approve = outbox_enqueue(actor=None, idempotency_key=f"t-hold-dep:{tag}:approve", kind="test.deposit",
                                 contract_name="MockStablecoin", function="approve",
                                 args=[w.offering.token_address, amount], to_address=stable, after=mint)
        outbox_enqueue(actor=None, idempotency_key=f"t-hold-dep:{tag}:deposit", kind="test.deposit",
                       contract_name="SecurityToken", function="distributeRevenue",
                       args=[amount, "0x" + tag.encode().hex().ljust(64, "0")[:64]],
                       to_address=w.offering.token_address, after=approve)
    world_mod._drain(drain)


def refused(fn, sender: str) -> bool:
    try:
        fn.call({"from": sender})
    except ContractLogicError:
        return True
    return False


def put_on_sanctions_hold(investor, sdn_csv_path):
    """The investor's name is on the list loaded next: the re-screen opens a hit."""
    profile = investor.investor_profile
    type(profile).objects.filter(pk=profile.pk).update(legal_name="Zoran Markovic",
                                                       date_of_birth=dt.date(1958, 7, 3))
    kyc.sanctions_load(actor=None, path=sdn_csv_path)
    return active_approval(user=investor).hits.get()


def test_a_sanctions_hold_freezes_self_custody_claims_and_transfers_until_cleared(
        world, drain_outbox, sdn_csv_path, compliance_officer2, compliance_officer):
    w = world
    held = w.self_custody
    own, custodial = w.wallets["self_custody"], custodial_wallet(user=held).address
    other = w.wallets["custodial"]
    pool = w.offering.units * USD  # 1 USD per unit of the device: 50 USD for the 50 units
    deposit(w, drain_outbox, pool, "before")
    assert int(token(w).functions.withdrawableIncomeOf(own).call()) == 50 * USD

    hit = put_on_sanctions_hold(held, sdn_csv_path)
    frozen = set(HoldFreeze.objects.filter(investor=held, released_at=None).values_list("wallet", flat=True))
    assert frozen == {gateway.to_checksum(own), gateway.to_checksum(custodial)}
    assert AuditEvent.objects.filter(action="tokens.hold_freeze", object_id=str(w.offering.pk)).exists()
    world_mod._drain(drain_outbox)
    assert token(w).functions.isFrozen(own).call() and token(w).functions.isFrozen(custodial).call()

    # The self-custody wallet cannot claim nor send; the app refuses its custodial paths too.
    assert refused(token(w).functions.claimIncome(), own)
    assert refused(token(w).functions.transfer(other, 5), own)
    with pytest.raises(ApplicationError) as exc:
        income.income_withdraw(actor=held, to_wallet=own)
    assert exc.value.code == "not_eligible"

    # Income distributed during the hold accrues to the frozen holder as to anyone.
    deposit(w, drain_outbox, pool, "during")
    assert int(token(w).functions.withdrawableIncomeOf(own).call()) == 100 * USD

    # An officer freezes the custodial wallet by hand during the hold: the release leaves it.
    agent_action_request(actor=compliance_officer, offering=w.offering, kind="freeze", wallet=custodial,
                         reason="Separate investigation")
    world_mod._drain(drain_outbox)

    kyc.screening_hit_clear(actor=compliance_officer2, hit=hit, reason="Different person: DOB and passport differ")
    world_mod._drain(drain_outbox)
    assert not token(w).functions.isFrozen(own).call()
    assert token(w).functions.isFrozen(custodial).call()  # the officer's own freeze stands
    assert not HoldFreeze.objects.filter(investor=held, released_at=None).exists()

    web3 = gateway.w3()
    stable = gateway.contract("MockStablecoin", deployment_address("MockStablecoin"))
    before = int(stable.functions.balanceOf(own).call())
    web3.eth.wait_for_transaction_receipt(token(w).functions.claimIncome().transact({"from": own}))
    assert int(stable.functions.balanceOf(own).call()) == before + 100 * USD  # all of it, hold included


def test_a_revoked_investor_is_frozen_on_every_live_token(world, drain_outbox):
    w = world
    held = w.self_custody
    own = w.wallets["self_custody"]
    kyc.kyc_case_revoke(actor=None, case=active_approval(user=held), reason="document forged", officer_check=False)
    f = HoldFreeze.objects.get(investor=held, wallet=gateway.to_checksum(own))
    assert f.cause.startswith("revoke:") and "document forged" in f.reason
    world_mod._drain(drain_outbox)
    assert token(w).functions.isFrozen(own).call()
    assert refused(token(w).functions.transfer(w.wallets["custodial"], 5), own)
    assert refused(token(w).functions.claimIncome(), own)
    # The same decision told twice freezes once.
    from tokens.offerings.holds import on_investor_hold

    with transaction.atomic():
        assert on_investor_hold(profile=held.investor_profile, cause=f.cause, reason="again") == []

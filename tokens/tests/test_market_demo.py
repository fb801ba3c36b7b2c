"""The demo seed makes the market tryable: a second approved demo investor (Germany, another
allowed country) printed with the other demo users, holding demo USD; the demo CT's lock-up
lifted by the compliance officer through the outbox (audited) so the first investor can sell."""

import io

import pytest
from django.core.management import call_command

from accounts import demo as accounts_demo
from chain import gateway
from chain.selectors import deployment_address
from compliance.selectors import custodial_wallet, investor_is_eligible
from core.models import AuditEvent
from tokens.demo import DEMO_BUYER_USD, DEMO_INVESTOR, DEMO_INVESTOR2
from tokens.models import ComplianceChange, Offering

pytestmark = [pytest.mark.django_db, pytest.mark.chain]


def test_seed_adds_a_second_approved_investor_with_demo_usd_and_lifts_the_lockup(chain_ready):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    assert f"{DEMO_INVESTOR2:<36}  {accounts_demo.DEMO_PASSWORD}" in text  # printed like the others
    from accounts.models import User

    buyer = User.objects.get(email=DEMO_INVESTOR2)
    assert buyer.check_password(accounts_demo.DEMO_PASSWORD) and investor_is_eligible(user=buyer)
    assert buyer.investor_profile.residence_country_numeric == 276
    wallet = custodial_wallet(user=buyer).address
    stable = deployment_address("MockStablecoin")
    assert gateway.call("MockStablecoin", stable, "balanceOf", wallet) == DEMO_BUYER_USD * 10**6

    offering = Offering.objects.get()
    assert offering.lockup_until is None
    assert gateway.call("SecurityToken", offering.token_address, "complianceParams")[3] == 0
    assert ComplianceChange.objects.get().status == "applied"
    assert AuditEvent.objects.filter(action="tokens.compliance_change_applied").exists()
    seller = custodial_wallet(user=User.objects.get(email=DEMO_INVESTOR)).address
    # The first investor may now sell to the second: the token's own answer.
    assert gateway.call("SecurityToken", offering.token_address, "detectTransferRestriction", seller, wallet, 1) == 0

    call_command("seed_demo", stdout=io.StringIO())  # idempotent
    assert ComplianceChange.objects.count() == 1
    assert gateway.call("MockStablecoin", stable, "balanceOf", wallet) == DEMO_BUYER_USD * 10**6

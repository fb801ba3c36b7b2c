"""Revenue to investors in the browser, on a real anvil: (a) the clinic admin opens the month's
statement, confirms it, pays through the simulator checkout and sees it distributed; (b) a
self-custody investor claims with an injected EIP-1193 provider (window.ethereum forwarding
to anvil, which signs for the impersonated account) and downloads a statement PDF."""

import json
import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from chain import processor
from core.money import format_base_units
from tokens.models import Distribution, IncomeClaim
from tokens.tests import distribution_world as world_mod

pytestmark = [pytest.mark.e2e, pytest.mark.chain, pytest.mark.django_db(transaction=True)]

# A minimal EIP-1193 provider: every request goes straight to the node's JSON-RPC; accounts
# are fixed to the investor's own address (anvil sends for it: impersonated by the world).
PROVIDER = """
(() => {
  const RPC = %(rpc)s, ACCOUNT = %(account)s;
  let id = 0;
  window.__sent = [];
  window.ethereum = {
    isMetaMask: false,
    request: async ({method, params}) => {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [ACCOUNT];
      if (method === "eth_sendTransaction") window.__sent.push(params[0]);
      const resp = await fetch(RPC, {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({jsonrpc: "2.0", id: ++id, method, params: params || []})});
      const body = await resp.json();
      if (body.error) { const e = new Error(body.error.message); e.code = body.error.code; throw e; }
      return body.result;
    },
  };
})();
"""


def test_clinic_admin_confirms_pays_and_sees_the_month_distributed(transactional_db, chain_ready, page, login,
                                                                    platform_admin, drain_outbox):
    from telemetry.services import revenue_period_close

    world = world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)
    world_mod.simulate_month(world)
    period = revenue_period_close(actor=platform_admin, device=world.offering.device,
                                  period_start=world.period_start)
    d = Distribution.objects.get(period=period)
    assert d.status == "awaiting_clinic"

    login(world.clinic_admin.email, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Revenue statements").click()
    page.get_by_role("link", name=world.period_start.strftime("%Y-%m")).click()
    expect(page.get_by_role("heading", name=re.compile("Revenue statement"))).to_be_visible()
    expect(page.get_by_test_id("amount-due")).to_contain_text(f"{d.amount_due:,.2f} USD")
    expect(page.get_by_test_id("waterfall")).to_contain_text("Platform fee 5.00% of gross")
    expect(page.get_by_test_id("usage-lines").get_by_role("row")).not_to_have_count(1)

    page.get_by_role("button", name="Confirm statement").click()
    expect(page.get_by_text("Statement confirmed.")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Pay .* by card$")).click()

    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page.get_by_test_id("payment-state")).to_contain_text("by card")
    expect(page.get_by_test_id("distribution-state-status")).to_have_text("Depositing on chain")

    processor.drain(timeout=60)  # what the Celery worker does
    expect(page.get_by_test_id("distribution-state-status")).to_have_text("Distributed to holders",
                                                                          timeout=20_000)
    d.refresh_from_db()
    expect(page.get_by_test_id("deposit-tx")).to_have_text(d.deposit_tx.tx_hash)
    expect(page.get_by_role("link", name="Public verification page")).to_have_attribute(
        "href", f"/verify/distributions/{d.public_id}/")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download statement (PDF)").click()
    with open(download.value.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"


def test_self_custody_investor_claims_with_the_browser_wallet_and_downloads_a_statement(
        transactional_db, chain_ready, page, login, platform_admin, drain_outbox):
    world, _ = world_mod.distributed_world(platform_admin=platform_admin, drain=drain_outbox)
    account = world.wallets["self_custody"]
    owed = world_mod.withdrawable(world, "self_custody")
    assert owed > 0
    page.add_init_script(PROVIDER % {"rpc": json.dumps(settings.CHAIN_RPC_URL), "account": json.dumps(account)})

    login(world.self_custody.email, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Income").click()
    holding = page.get_by_test_id(f"holding-{world.offering.token_symbol}-{account.lower()}")
    expect(holding.get_by_test_id("accrued")).to_contain_text(format_base_units(owed, 6))
    expect(holding.get_by_test_id("periods")).to_contain_text(world.period_start.strftime("%Y-%m"))
    # Units minted without a primary order have no price: the page says so, it makes no yield up.
    expect(page.get_by_test_id("income-yield")).to_contain_text("no unit that earned income has a known price")

    holding.get_by_role("button", name="Claim with your wallet").click()
    expect(holding.get_by_test_id("claim-result")).to_contain_text(
        "Claim confirmed in block", timeout=20_000)
    expect(holding.get_by_test_id("claim-result")).to_contain_text(f"{format_base_units(owed, 6)} paid to your wallet")
    sent = page.evaluate("window.__sent")
    assert len(sent) == 1 and sent[0]["from"].lower() == account.lower()
    assert sent[0]["to"].lower() == world.offering.token_address.lower()

    claim = IncomeClaim.objects.get(wallet__iexact=account)
    assert claim.status == "confirmed" and int(claim.amount_base_units) == owed and claim.self_custody
    assert world_mod.withdrawable(world, "self_custody") == 0

    page.reload()
    expect(holding.get_by_role("button", name="Nothing to claim yet")).to_be_disabled()
    expect(page.get_by_test_id("claims")).to_contain_text("Confirmed")
    with page.expect_download() as download:
        holding.get_by_role("link", name="Statement (PDF)").first.click()
    with open(download.value.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"

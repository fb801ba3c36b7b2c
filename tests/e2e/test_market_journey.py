"""The secondary market in the browser, on a real anvil: (a) a custodial holder lists units on
the board (the platform signs with the custodial key through the outbox); a self-custody buyer
(an injected EIP-1193 provider forwarding to anvil, which sends for the impersonated account)
sees both legs' pre-checks, takes part of the offer through static/js/market.js and sees the
settlement confirmed; the chain agrees. (b) A transfer the token refuses shows the contract's
own ERC-1404 code and message, and no confirm button."""

import json

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from chain import gateway, processor
from chain.selectors import deployment_address
from compliance.selectors import custodial_wallet
from tokens.models import MarketOffer, MarketTransfer
from tokens.tests import distribution_world as world_mod
from tokens.tests.factories import make_investor

from .test_distributions_journey import PROVIDER

pytestmark = [pytest.mark.e2e, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def _units(world, address) -> int:
    return int(gateway.call("SecurityToken", world.offering.token_address, "balanceOf", address))


def _usd(address) -> int:
    return int(gateway.call("MockStablecoin", deployment_address("MockStablecoin"), "balanceOf", address))


def _fund_usd(address, amount) -> None:
    web3 = gateway.w3()
    c = gateway.contract("MockStablecoin", deployment_address("MockStablecoin"))
    web3.eth.wait_for_transaction_receipt(
        c.functions.mint(gateway.to_checksum(address), amount).transact({"from": web3.eth.accounts[0]}))


def _logout(page):
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def _go_market(page):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Market", exact=True).click()
    expect(page.get_by_role("heading", name="Market", exact=True)).to_be_visible()


def test_custodial_seller_lists_and_a_self_custody_buyer_takes_part_in_the_browser(
        transactional_db, chain_ready, page, login, platform_admin, drain_outbox):
    world = world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)
    seller, buyer = world.wallets["custodial"], world.wallets["self_custody"]
    symbol = world.offering.token_symbol

    # (1) The custodial seller lists 40 units at 2.50 USD.
    login(world.custodial.email, PASSWORD)
    _go_market(page)
    page.get_by_role("link", name="Sell units").click()
    page.get_by_label("From wallet").select_option(value=seller)
    page.get_by_label("Units").fill("40")
    page.get_by_label("Price per unit (USD)").fill("2.50")
    page.get_by_role("button", name="Check with the token").click()
    check = page.get_by_test_id("offer-check")
    expect(check.get_by_test_id("restriction")).to_contain_text("The token allows it")
    expect(check.get_by_test_id("restriction")).to_contain_text("restriction code 0")
    expect(check.get_by_test_id("income-note")).to_contain_text("stays yours")
    page.get_by_role("button", name="Post the offer").click()
    expect(page.get_by_text("Offer sent to the board")).to_be_visible()
    processor.drain(timeout=60)  # what the Celery worker does
    offer = MarketOffer.objects.get(seller=world.custodial)
    assert offer.status == "open" and offer.board_offer_id is not None, offer.error
    page.reload()
    expect(page.get_by_test_id(f"my-offer-{offer.pk}").get_by_test_id("status")).to_have_text("Open")
    _logout(page)

    # (2) The self-custody buyer takes 15 of them, signing in the browser wallet.
    _fund_usd(buyer, 100 * 10**6)
    usd_seller = _usd(seller)
    page.add_init_script(PROVIDER % {"rpc": json.dumps(settings.CHAIN_RPC_URL), "account": json.dumps(buyer)})
    login(world.self_custody.email, PASSWORD)
    _go_market(page)
    row = page.get_by_test_id(f"offer-{offer.pk}")
    expect(row).to_contain_text("Seller #")
    expect(row).not_to_contain_text(world.custodial.email)
    expect(row).not_to_contain_text(seller)
    row.get_by_role("link", name="Buy").click()
    expect(page.get_by_test_id("income-note")).to_contain_text("next distribution")
    page.get_by_label("Pay from and receive in wallet").select_option(value=buyer)
    page.get_by_label("Units").fill("15")
    page.get_by_role("button", name="Check both legs").click()
    take = page.get_by_test_id("take-check")
    expect(take.get_by_test_id("restriction")).to_contain_text("The token allows it")
    expect(take.get_by_test_id("restriction")).to_contain_text("No restriction")
    expect(take.get_by_test_id("stablecoin-check")).to_contain_text("37.5")
    expect(take.get_by_test_id("stablecoin-check")).to_contain_text("100")
    take.get_by_role("button", name="Sign approve + buy in your wallet").click()
    result = take.get_by_test_id("market-result")
    expect(result).to_contain_text("Confirmed in block", timeout=30_000)
    expect(result).to_contain_text("15 units")

    sent = page.evaluate("window.__sent")
    board = deployment_address("Settlement")
    assert [s["to"].lower() for s in sent] == [deployment_address("MockStablecoin").lower(), board.lower()]
    assert all(s["from"].lower() == buyer.lower() for s in sent)
    # Both legs on chain, in one transaction; the board keeps nothing.
    fill = MarketTransfer.objects.get(actor=world.self_custody)
    assert fill.status == "confirmed" and fill.units == 15
    paid, fee = int(fill.paid_base_units), int(fill.fee_base_units)
    assert paid == 37_500_000
    assert _units(world, buyer) == 50 + 15 and _units(world, seller) == 100 - 15
    assert _usd(buyer) == 100 * 10**6 - paid and _usd(seller) == usd_seller + paid - fee
    assert _usd(board) == 0 and _units(world, board) == 0

    # The board and market data follow: 25 left, last trade 2.5, the buyer's portfolio values it.
    _go_market(page)
    expect(page.get_by_test_id(f"offer-{offer.pk}")).to_contain_text("25")
    expect(page.get_by_test_id(f"market-{symbol}").get_by_test_id("last-price")).to_have_text("2.50")
    expect(page.get_by_test_id(f"transfer-{fill.pk}").get_by_test_id("status")).to_have_text("Confirmed")

    # My investments values the 65 units at the last trade, the offering price beside it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My investments").click()
    value = page.get_by_test_id(f"value-{symbol}")
    expect(value.get_by_test_id("last-price")).to_have_text("2.50")
    expect(value.get_by_test_id("value-last")).to_have_text("162.50 USD")
    expect(value.get_by_test_id("value-offering")).to_contain_text(f"{65 * world.offering.price_per_unit:,.2f}")


def test_a_transfer_the_token_refuses_shows_its_code_and_message(
        transactional_db, chain_ready, page, login, platform_admin, drain_outbox):
    world = world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)
    fr = make_investor(residence_country="FR")  # the offering allows GB and DE only
    world_mod._drain(drain_outbox)

    login(world.custodial.email, PASSWORD)
    _go_market(page)
    page.get_by_role("link", name="Transfer to another investor").click()
    page.get_by_label("Units").fill("5")
    # By email the form does not say why (that would tell where the email's owner invests) ...
    page.get_by_label("Recipient (email or 0x wallet address)").fill(fr.email)
    page.get_by_role("button", name="Check with the token").click()
    expect(page.get_by_text("These units cannot be sent to this email.").first).to_be_visible()
    expect(page.get_by_role("button", name="Confirm the transfer")).to_have_count(0)
    # ... by wallet address the token gives its own answer.
    page.get_by_label("Recipient (email or 0x wallet address)").fill(custodial_wallet(user=fr).address)
    page.get_by_role("button", name="Check with the token").click()
    r = page.get_by_test_id("transfer-check").get_by_test_id("restriction")
    expect(r).to_contain_text("The token refuses it")
    expect(r).to_contain_text("restriction code 6")
    expect(r).to_contain_text("Receiver country is not allowed")
    expect(r).to_have_attribute("data-code", "6")
    expect(page.get_by_role("button", name="Confirm the transfer")).to_have_count(0)
    assert not MarketTransfer.objects.exists()
    assert _units(world, world.wallets["custodial"]) == 100


def test_a_buyer_without_stablecoin_pays_by_card_and_the_purchase_settles(
        transactional_db, chain_ready, page, login, platform_admin, drain_outbox):
    """Issue 10 item 3 in the browser: Buy → "Pay by card instead" → the token's answer, the card
    amount and who pays the fee → the simulator's checkout → the purchase page follows it to
    "Settled" once the worker has credited the custodial wallet and sent approve + take."""
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from compliance.selectors import custodial_wallet
    from tokens.market import services as market

    world = world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)
    offer = market.offer_create(actor=world.custodial, offering=world.offering, wallet=world.wallets["custodial"],
                                units=20, price_per_unit=Decimal("2.50"),
                                expires_at=timezone.now() + dt.timedelta(days=7))
    world_mod._drain(drain_outbox)
    wallet = custodial_wallet(user=world.self_custody).address
    assert _usd(wallet) == 0

    login(world.self_custody.email, PASSWORD)
    # A first attempt left at the checkout: back on the purchase page, the buyer frees the units.
    _go_market(page)
    page.get_by_test_id(f"offer-{offer.pk}").get_by_role("link", name="Buy").click()
    page.get_by_test_id("pay-by-card").click()
    page.get_by_label("Units").fill("20")
    page.get_by_role("button", name="Check before paying").click()
    page.get_by_role("button", name="Pay 50.00 USD by card").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("checkout-left")).to_contain_text("You left the checkout without paying")
    page.get_by_role("button", name="Cancel and free the units").click()
    expect(page.get_by_text("Purchase cancelled; the units are free again.")).to_be_visible()
    expect(page.get_by_test_id("card-status")).to_contain_text("Cancelled by you before paying")

    _go_market(page)
    expect(page.get_by_test_id("my-card-purchases")).to_contain_text("Cancelled by you before paying")
    page.get_by_test_id(f"offer-{offer.pk}").get_by_role("link", name="Buy").click()
    page.get_by_test_id("pay-by-card").click()
    page.get_by_label("Units").fill("4")
    page.get_by_role("button", name="Check before paying").click()
    check = page.get_by_test_id("card-check")
    expect(check.get_by_test_id("restriction")).to_contain_text("The token allows it")
    expect(check.get_by_test_id("card-amount")).to_have_text("10.00 USD")
    expect(check.get_by_test_id("card-fee")).to_contain_text("paid by the seller")
    page.get_by_role("button", name="Pay 10.00 USD by card").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_test_id("card-status")).to_contain_text("settling on chain")
    processor.drain(timeout=60)  # what the Celery worker does
    page.reload()
    expect(page.get_by_test_id("card-status")).to_contain_text("Settled")
    assert _units(world, wallet) == 4 and _units(world, world.wallets["custodial"]) == 96
    assert _usd(deployment_address("Settlement")) == 0

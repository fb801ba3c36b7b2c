"""An approved investor buys 5 units: Offerings → buy page → simulator checkout → tokens
minted → receipt downloaded."""

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from chain import processor
from tokens.offerings import services
from tokens.tests.factories import (
    accept_pricing,
    clinic_admin_of,
    make_certified_device,
    make_investor,
    offering_terms,
)

pytestmark = [pytest.mark.e2e, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_investor_buys_units_and_downloads_the_receipt(transactional_db, chain_ready, page, login, platform_admin):
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device,
                                        data=offering_terms(allowed_countries=[826, 276]))
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    accept_pricing(offering)
    services.offering_deploy(actor=platform_admin, offering=offering)
    investor = make_investor()  # like the demo investor: GB resident, KYC approved
    processor.drain(timeout=60)  # token deployed and anchored, investor registered on chain

    login(investor.email, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Offerings").click()
    expect(page.get_by_role("heading", name="Vida MRI Token (VIDA)")).to_be_visible()
    expect(page.get_by_test_id("units-available")).to_have_text("400 of 400")
    page.get_by_role("button", name="Buy VIDA").click()

    page.get_by_label("Units").fill("0")
    page.get_by_role("button", name="Reserve and pay").click()
    expect(page.get_by_text("Ensure this value is greater than or equal to 1.")).to_be_visible()
    page.get_by_label("Units").fill("5")
    page.get_by_role("button", name="Reserve and pay").click()

    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    expect(page.get_by_test_id("checkout-amount")).to_have_text("1,250.00 USD")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Minting tokens")

    processor.drain(timeout=60)  # what the Celery worker does
    expect(page.get_by_test_id("order-status")).to_have_text("Completed", timeout=15_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download receipt (PDF)").click()
    with open(download.value.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My investments").click()
    holdings = page.get_by_test_id("holdings")
    expect(holdings.get_by_role("row").filter(has_text="VIDA")).to_contain_text("5")
    expect(page.get_by_test_id("orders").get_by_text("Completed")).to_be_visible()

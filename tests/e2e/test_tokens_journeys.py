
import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, make_user
from chain import processor
from chain.services import index_now
from core.roles import Role
from tokens.models import Offering
from tokens.offerings import services
from tokens.tests.factories import (
    accept_pricing,
    approved_investor_wallets,
    clinic_admin_of,
    make_certified_device,
    mint_via_outbox,
    offering_terms,
)

pytestmark = [pytest.mark.e2e, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_platform_admin_tokenizes_a_certified_device(page, login, chain_ready):
    admin = make_user(Role.PLATFORM_ADMIN)
    device = make_certified_device()
    login(admin.email, PASSWORD)
    page.goto("/offerings/")
    page.get_by_role("button", name="New offering").click()
    page.get_by_label("Certified device").select_option(str(device.pk))
    page.get_by_label("Token name").fill("Vida MRI Token")
    page.get_by_label("Token symbol").fill("VIDA")
    page.get_by_label("Units", exact=True).fill("1000")
    page.get_by_label("Price per unit", exact=True).fill("250.00")
    page.get_by_label("Share offered (%)").fill("40")
    page.get_by_label("Allowed investor countries").fill("276, 250")
    page.get_by_label("Max units per investor").fill("200")
    page.get_by_label("Maximum number of holders").fill("100")
    page.get_by_label("Holders' share of gross revenue (%)").fill("30")
    page.get_by_label("Reserve target").fill("25000")
    page.get_by_label("Clinic's operating share (% of gross)").fill("60")
    page.get_by_role("button", name="Create offering").click()
    expect(page.get_by_text("Waiting for the clinic administrator's consent.")).to_be_visible()

    offering = Offering.objects.get(device=device)
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    page.reload()
    # No revenue measured yet: the pricing cannot be shown in band, so a second person must accept it.
    expect(page.get_by_role("button", name="Deploy token")).to_be_disabled()
    expect(page.get_by_test_id("pricing-out-of-band")).to_be_visible()
    accept_pricing(offering)
    page.reload()
    expect(page.get_by_test_id("pricing-acceptance")).to_contain_text("Test fixture")
    page.get_by_role("button", name="Deploy token").click()
    expect(page.get_by_test_id("offering-status")).to_have_text("Deploying token")

    processor.drain(timeout=60)  # what the Celery worker does
    expect(page.get_by_test_id("offering-status")).to_have_text("Live", timeout=15_000)
    offering.refresh_from_db()
    expect(page.get_by_test_id("token-address")).to_have_text(offering.token_address)
    expect(page.get_by_role("cell", name="TokenFactory.deployToken")).to_be_visible()
    expect(page.get_by_role("cell", name="confirmed").first).to_be_visible()
    expect(page.get_by_role("cell", name="AssetRegistry.anchor")).to_be_visible()


def test_compliance_officer_freezes_a_wallet(page, login, chain_ready):
    admin = make_user(Role.PLATFORM_ADMIN)
    officer = make_user(Role.COMPLIANCE_OFFICER)
    device = make_certified_device()
    offering = services.offering_create(actor=admin, device=device, data=offering_terms())
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    accept_pricing(offering)
    services.offering_deploy(actor=admin, offering=offering)
    processor.drain(timeout=60)

    login(officer.email, PASSWORD)
    page.goto("/token-actions/")
    page.get_by_role("link", name="VIDA — Vida MRI Token").click()
    page.get_by_label("Action").select_option("freeze")
    page.get_by_label("Wallet", exact=True).fill("0x" + "ab" * 20)
    page.get_by_label("Reason").fill("Court order 42")
    page.get_by_role("button", name="Submit action").click()
    expect(page.get_by_text("Action submitted to the chain.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Court order 42")
    expect(row.get_by_text("pending")).to_be_visible()

    processor.drain(timeout=60)
    expect(row.get_by_text("confirmed")).to_be_visible(timeout=15_000)
    page.reload()  # confirmed actions are indexed at once: the token state shows the freeze
    expect(page.get_by_text("frozen wallets: 1")).to_be_visible()


def test_compliance_officer_recovers_a_lost_wallet(page, login, chain_ready):
    admin = make_user(Role.PLATFORM_ADMIN)
    officer = make_user(Role.COMPLIANCE_OFFICER)
    device = make_certified_device()
    offering = services.offering_create(actor=admin, device=device, data=offering_terms())
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    accept_pricing(offering)
    services.offering_deploy(actor=admin, offering=offering)
    processor.drain(timeout=60)
    offering.refresh_from_db()
    # Recovery moves units between two wallets of the same investor on the platform.
    lost, new = approved_investor_wallets(make_user(Role.INVESTOR), make_user(Role.COMPLIANCE_OFFICER),
                                          lambda: processor.drain(timeout=60))
    mint_via_outbox(offering, lost, 20)  # below the second-officer threshold
    processor.drain(timeout=60)
    index_now()

    login(officer.email, PASSWORD)
    page.goto(f"/token-actions/{offering.pk}/")
    holders = page.get_by_role("region", name="Holders")
    expect(holders.get_by_role("row").filter(has_text=lost)).to_contain_text("20")
    page.get_by_label("Action").select_option("recover")
    page.get_by_label("Wallet", exact=True).fill(lost)
    page.get_by_label("Destination wallet").fill(new)
    page.get_by_label("Reason").fill("Lost key, ticket 991")
    page.get_by_role("button", name="Submit action").click()
    expect(page.get_by_text("Action submitted to the chain.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Lost key, ticket 991")
    expect(row.get_by_text("pending")).to_be_visible()

    processor.drain(timeout=60)  # what the Celery worker does
    expect(row.get_by_text("confirmed")).to_be_visible(timeout=15_000)
    page.reload()
    holders = page.get_by_role("region", name="Holders")
    expect(holders.get_by_role("row").filter(has_text=new)).to_contain_text("20")
    expect(holders.get_by_role("row").filter(has_text=lost)).to_have_count(0)

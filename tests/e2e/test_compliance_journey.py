"""Browser journeys of investor onboarding and KYC review."""

import datetime as dt
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, make_user
from chain.models import ChainTransaction
from compliance.models import KycCase
from compliance.tests.factories import make_case, pdf_bytes
from core.roles import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _logout(page):
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def _upload(page, kind_label: str, name: str):
    page.get_by_label("Document type").select_option(label=kind_label)
    page.get_by_label("File", exact=True).set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": pdf_bytes()})
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text(f"{kind_label} uploaded.")).to_be_visible()


def test_investor_onboards_officer_approves_and_wallets_are_verified_on_chain(
        transactional_db, chain_ready, drain_outbox, page, login):
    officer = make_user(Role.COMPLIANCE_OFFICER)
    # Sign up.
    page.goto("/accounts/signup/investor/")
    page.get_by_label("Full name").fill("Nora Newcomer")
    page.get_by_label("Email").fill("nora@example.test")
    page.get_by_label("Password", exact=True).fill("a-long-enough-pass-1")
    page.get_by_label("Repeat password").fill("a-long-enough-pass-1")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/dashboard/")
    page.get_by_role("link", name="KYC", exact=True).click()
    expect(page.get_by_text("Start by completing your investor profile.")).to_be_visible()

    # 1. Profile.
    page.get_by_role("link", name="1. Profile").click()
    page.get_by_label("Legal name").fill("Nora Newcomer")
    page.get_by_label("Date of birth").fill("1990-02-03")
    page.get_by_label("Country of residence").select_option("CH")
    page.get_by_label("Residential address").fill("Bahnhofstrasse 1, Zürich")
    page.get_by_label("Accreditation basis").select_option("net_worth")
    page.get_by_label("Tax residence").select_option("CH")
    page.get_by_label("Amount you intend to invest").fill("50000")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    expect(page.get_by_role("cell", name="Custodial (held by the platform)")).to_be_visible()

    # 2. Link a self-custody wallet by signing the EIP-4361 message.
    acct = Account.create()
    page.get_by_label("Wallet address").fill(acct.address)
    page.get_by_role("button", name="Get a message to sign").click()
    message = page.get_by_label("Message to sign").input_value()
    assert "wants you to sign in with your Ethereum account" in message
    expect(page.get_by_text("No browser wallet on this device?")).to_be_visible()
    # A signature by another key is refused and spends the message; the page says how to go on.
    forged = Account.sign_message(encode_defunct(text=message), private_key=Account.create().key).signature.hex()
    page.get_by_label("Signature").fill(forged)
    page.get_by_role("button", name="Link wallet").click()
    expect(page.get_by_text("The signature was not made by this wallet.")).to_be_visible()
    page.get_by_role("link", name="Get a new message to sign").click()
    page.get_by_label("Wallet address").fill(acct.address)
    page.get_by_role("button", name="Get a message to sign").click()
    message = page.get_by_label("Message to sign").input_value()
    sig = Account.sign_message(encode_defunct(text=message), private_key=acct.key).signature.hex()
    page.get_by_label("Signature").fill(sig)
    page.get_by_role("button", name="Link wallet").click()
    expect(page.get_by_text(f"Wallet {acct.address} is linked to your account.")).to_be_visible()

    # 3. Documents and submission.
    page.get_by_role("button", name="Continue to KYC documents").click()
    _upload(page, "Identity document", "passport.pdf")
    _upload(page, "Proof of address", "utility-bill.pdf")
    _upload(page, "Accreditation evidence", "bank-letter.pdf")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Your KYC case is submitted.")).to_be_visible()
    expect(page.get_by_test_id("kyc-status")).to_have_text("Submitted")
    _logout(page)

    # An officer (a different user) reviews and approves.
    login(officer.email, PASSWORD)
    page.get_by_role("link", name="KYC queue").click()
    page.get_by_role("link", name="Case #").first.click()
    expect(page.get_by_role("heading", name="Nora Newcomer")).to_be_visible()
    expect(page.get_by_title("Identity document")).to_be_visible()
    page.get_by_role("button", name="Start review").click()
    page.get_by_label("Reason").fill("Documents consistent; net worth evidenced")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Case approved")).to_be_visible()
    expect(page.get_by_test_id("case-status")).to_have_text("Approved")
    # Queued, not yet effective: the page says so until the chain confirms.
    expect(page.get_by_test_id("wallet-chain-state").filter(
        has_text="Registration pending: waiting for the blockchain")).to_have_count(2)
    _logout(page)

    # The outbox sends the registrations (a worker would; here synchronously).
    rows = drain_outbox()
    assert {r.status for r in rows} == {ChainTransaction.Status.CONFIRMED}

    login("nora@example.test", "a-long-enough-pass-1")
    page.get_by_role("link", name="KYC", exact=True).click()
    expect(page.get_by_test_id("kyc-status")).to_have_text("Approved")
    expect(page.get_by_text("You are eligible to invest.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=acct.address)
    expect(row.get_by_text("Verified on chain")).to_be_visible()
    expect(row.get_by_text("Registered (confirmed on chain)")).to_be_visible()
    expect(page.get_by_text("Verified on chain")).to_have_count(2)


def test_sanctioned_name_is_blocked_until_an_officer_clears_it(identity_registry_row, sdn_loaded, page, login):
    officer = make_user(Role.COMPLIANCE_OFFICER)
    case = make_case(legal_name="Dmitri Sergeyevich Volkov", date_of_birth=dt.date(1965, 3, 12))
    login(officer.email, PASSWORD)
    page.goto("/compliance/queue/")
    page.get_by_label("Sanctions hits").select_option("open")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=f"Case #{case.pk}").click()
    expect(page.get_by_text("VOLKOV, Dmitri Sergeyevich")).to_be_visible()
    expect(page.get_by_text("Open — blocks approval")).to_be_visible()
    page.get_by_role("button", name="Start review").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Clear every open sanctions hit")).to_be_visible()
    page.get_by_label("Why is this a false positive?").fill("Passport and place of birth differ from the listing")
    page.get_by_role("button", name="Clear hit").click()
    expect(page.get_by_text("Cleared by")).to_be_visible()
    # Four-eyes: whoever cleared the hit cannot approve, and a case that was high risk still
    # needs two more officers although the cleared hit weighs less now.
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("You cleared a sanctions hit on this case")).to_be_visible()
    for n, expected in ((1, "In review"), (2, "Approved")):
        _logout(page)
        other = make_user(Role.COMPLIANCE_OFFICER)
        login(other.email, PASSWORD)
        page.goto(f"/compliance/cases/{case.pk}/")
        page.get_by_role("button", name="Approve").click()
        if n == 1:
            expect(page.get_by_text("First approval recorded")).to_be_visible()
        expect(page.get_by_test_id("case-status")).to_have_text(expected)


def test_officer_cannot_approve_own_case_and_high_risk_needs_two(identity_registry_row, page, login):
    from accounts.models import Membership

    officer = make_user(Role.COMPLIANCE_OFFICER)
    Membership.objects.create(user=officer, role=Role.INVESTOR)
    own = make_case(officer, legal_name="Olivia Officer")
    risky = make_case(legal_name="Peter Politician", is_pep=True, intended_amount=Decimal("3000000"))
    login(officer.email, PASSWORD)
    page.goto(f"/compliance/cases/{own.pk}/")
    expect(page.get_by_text("This is your own KYC case.")).to_be_visible()
    page.get_by_role("button", name="Start review").click()
    expect(page.get_by_text("You cannot review your own KYC case")).to_be_visible()
    expect(page.get_by_test_id("case-status")).to_have_text("Submitted")

    page.goto(f"/compliance/cases/{risky.pk}/")
    page.get_by_role("button", name="Start review").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("First approval recorded")).to_be_visible()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("needs a second, different officer")).to_be_visible()
    _logout(page)
    second = make_user(Role.COMPLIANCE_OFFICER)
    login(second.email, PASSWORD)
    page.goto(f"/compliance/cases/{risky.pk}/")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("case-status")).to_have_text("Approved")
    assert KycCase.objects.get(pk=risky.pk).decided_by == second


def test_investor_is_told_what_to_do_and_cannot_see_others(identity_registry_row, page, login):
    officer = make_user(Role.COMPLIANCE_OFFICER)
    mine = make_case(status=KycCase.Status.IN_REVIEW, officer=officer)
    from compliance import services

    services.kyc_case_request_info(actor=officer, case=mine, reason="Upload a utility bill from the last 3 months.")
    other_doc = make_case().documents.first()
    login(mine.profile.user.email, PASSWORD)
    page.get_by_role("link", name="KYC", exact=True).click()
    expect(page.get_by_test_id("kyc-status")).to_have_text("Needs more information")
    expect(page.get_by_text("Upload a utility bill from the last 3 months.")).to_be_visible()
    expect(page.get_by_text("Upload what is asked, then resubmit.")).to_be_visible()
    assert page.goto(f"/kyc/documents/{other_doc.pk}/").status == 404
    resp = page.goto("/compliance/queue/")
    assert resp.status == 403
    expect(page.get_by_text("You don't have access to this page.")).to_be_visible()

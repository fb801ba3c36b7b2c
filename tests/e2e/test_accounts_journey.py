import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, make_user
from core.roles import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_investor_signs_up_sees_dashboard_and_logs_out(page):
    page.goto("/")
    page.get_by_role("button", name="Become an investor").click()
    page.get_by_label("Full name").fill("Erin Example")
    page.get_by_label("Email").fill("erin@example.test")
    page.get_by_label("Password", exact=True).fill("a-long-enough-pass-1")
    page.get_by_label("Repeat password").fill("a-long-enough-pass-1")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/dashboard/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("Investor", exact=False).first).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def test_signup_errors_are_shown_next_to_fields(page):
    page.goto("/accounts/signup/clinic/")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_text("This field is required.").first).to_be_visible()


def test_investor_is_refused_the_audit_trail(page, login):
    user = make_user(Role.INVESTOR)
    login(user.email, PASSWORD)
    resp = page.goto("/audit/")
    assert resp.status == 403
    expect(page.get_by_text("You don't have access to this page.")).to_be_visible()


def test_compliance_officer_filters_audit_trail(page, login):
    officer = make_user(Role.COMPLIANCE_OFFICER)
    login(officer.email, PASSWORD)
    page.get_by_role("link", name="Audit trail").click()
    page.get_by_label("Action").fill("nothing-matches")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No events match these filters.")).to_be_visible()

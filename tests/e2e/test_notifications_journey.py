import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, make_user
from core.roles import Role
from notifications.models import Category
from notifications.services import notify

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_investor_reads_notifications_and_the_unread_count_drops(page, login):
    investor = make_user(Role.INVESTOR)
    notify(recipient=investor, category=Category.ORDERS, event_key="order:e2e:paid", title="Payment received",
           body="We received your payment.", url="/dashboard/")
    notify(recipient=investor, category=Category.KYC, event_key="kyc:e2e:approved", title="Your KYC is approved",
           body="You can invest on MedRWA.")
    login(investor.email, PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_test_id("unread-count")).to_have_text("2")
    nav.get_by_role("link", name="Notifications 2 unread").click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    expect(page.get_by_text("You have 2 unread notifications.")).to_be_visible()
    page.get_by_role("button", name="Mark read: Your KYC is approved").click()
    expect(nav.get_by_test_id("unread-count")).to_have_text("1")
    # Opening one marks it read and follows its link.
    page.get_by_role("button", name="Open: Payment received").click()
    page.wait_for_url("**/dashboard/")
    expect(nav.get_by_test_id("unread-count")).to_have_count(0)
    expect(nav.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    # Email preferences: orders off, security locked on.
    page.goto("/notifications/preferences/")
    page.get_by_label("Orders and payments").uncheck()
    expect(page.get_by_label("Security (device keys, sign-in)")).to_be_disabled()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your notification preferences are saved.")).to_be_visible()
    expect(page.get_by_label("Orders and payments")).not_to_be_checked()

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Membership
from accounts.tasks import clinic_invite_send
from accounts.tests.factories import PASSWORD, make_user
from core.roles import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_clinic_admin_adds_a_colleague_who_sets_a_password_and_logs_in(page, login):
    admin = make_user(Role.CLINIC_ADMIN)
    login(admin.email, PASSWORD)
    page.get_by_role("link", name="Team").click()
    page.get_by_label("Full name").fill("Theo Tech")
    page.get_by_label("Email").fill("theo@example.test")
    page.get_by_label("Role").select_option(label="Clinic staff")
    page.get_by_role("button", name="Add to team").click()
    expect(page.get_by_text("theo@example.test was added and has been emailed.")).to_be_visible()
    expect(page.get_by_role("cell", name="Theo Tech")).to_be_visible()

    # The worker would send this; deliver it here and follow the link as Theo.
    clinic_invite_send(Membership.objects.get(user__email="theo@example.test").pk, True)
    link = re.search(r"http\S+/accounts/reset/\S+", mail.outbox[-1].body).group(0)
    page.get_by_role("button", name="Log out").click()
    page.goto(urlsplit(link).path)
    page.get_by_label("New password", exact=True).fill("theo-strong-pass-42")
    page.get_by_label("New password confirmation").fill("theo-strong-pass-42")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Password changed")).to_be_visible()
    login("theo@example.test", "theo-strong-pass-42")
    expect(page.get_by_text("Clinic staff")).to_be_visible()

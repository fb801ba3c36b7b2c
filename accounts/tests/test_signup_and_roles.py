import pytest
from django.core import mail

from accounts.models import Membership, Organization, User
from accounts.tests.factories import PASSWORD, make_user
from core.models import AuditEvent
from core.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)

GOOD = "a-long-enough-pass-1"


def test_investor_signup_logs_in_and_audits(client):
    r = client.post("/accounts/signup/investor/", {
        "full_name": "Ivy Investor", "email": "Ivy@Example.test", "password1": GOOD, "password2": GOOD,
    })
    assert r.status_code == 302 and r["Location"] == "/dashboard/"
    user = User.objects.get(email="ivy@example.test")
    assert list(user.memberships.values_list("role", flat=True)) == [Role.INVESTOR]
    assert AuditEvent.objects.filter(action="accounts.investor_signup", actor=user).exists()
    assert client.get("/dashboard/").status_code == 200


def test_signup_shows_field_errors_and_creates_nothing(client):
    make_user(Role.INVESTOR, email="taken@example.test")
    r = client.post("/accounts/signup/investor/", {
        "full_name": "", "email": "taken@example.test", "password1": "123", "password2": "456",
    })
    body = r.content.decode()
    assert r.status_code == 200
    assert "An account with this email already exists." in body
    assert "The two passwords differ." in body
    assert User.objects.count() == 1


def test_clinic_signup_creates_clinic_and_admin(client):
    r = client.post("/accounts/signup/clinic/", {
        "full_name": "Clara", "email": "clara@example.test", "password1": GOOD, "password2": GOOD,
        "clinic_name": "Harbor Imaging", "country": "us", "city": "Boston",
    })
    assert r.status_code == 302
    org = Organization.objects.get(name="Harbor Imaging")
    assert org.kind == "clinic" and org.country == "US"
    assert Membership.objects.get(organization=org).role == Role.CLINIC_ADMIN


def test_login_logout_and_password_reset(client):
    user = make_user(Role.INVESTOR, email="pw@example.test")
    r = client.post("/accounts/login/", {"username": "pw@example.test", "password": PASSWORD})
    assert r.status_code == 302
    assert client.get("/accounts/profile/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/accounts/profile/").status_code == 302
    bad = client.post("/accounts/login/", {"username": "pw@example.test", "password": "nope"})
    assert bad.status_code == 200 and "correct email" in bad.content.decode().lower()
    client.post("/accounts/password-reset/", {"email": user.email})
    reset_mails = [m for m in mail.outbox if "reset" in m.body.lower()]
    assert reset_mails and "/accounts/reset/" in reset_mails[-1].body


def test_investor_cannot_reach_compliance_pages(client):
    client.force_login(make_user(Role.INVESTOR))
    assert client.get("/audit/").status_code == 403


def test_anonymous_is_sent_to_login(client):
    r = client.get("/dashboard/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_membership_rules():
    from django.core.exceptions import ValidationError

    clinic = Organization.objects.create(name="C", kind="clinic")
    user = make_user(Role.INVESTOR)
    with pytest.raises(ValidationError):
        Membership(user=user, organization=clinic, role=Role.APPRAISER).full_clean()
    with pytest.raises(ValidationError):
        Membership(user=user, organization=None, role=Role.CLINIC_ADMIN).full_clean()


def test_seed_demo_is_idempotent_and_prints_logins():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    for role in Role:
        assert str(role.label) in text
    assert User.objects.filter(email__endswith="@demo.medrwa.local").count() == 9  # two investors: a market trade


def test_password_guessing_is_throttled_per_account(client):
    from django.core.cache import cache

    cache.clear()
    make_user(Role.INVESTOR, email="guess@example.test")
    for _ in range(10):
        client.post("/accounts/login/", {"username": "guess@example.test", "password": "wrong"})
    r = client.post("/accounts/login/", {"username": "guess@example.test", "password": PASSWORD})
    assert r.status_code == 200 and "Too many failed attempts" in r.content.decode()
    cache.clear()
    assert client.post("/accounts/login/", {"username": "guess@example.test", "password": PASSWORD}).status_code == 302

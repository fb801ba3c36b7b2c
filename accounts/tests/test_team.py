import re
from urllib.parse import urlsplit

import pytest
from django.core import mail

from accounts import services
from accounts.models import Membership, User
from accounts.tasks import clinic_invite_send
from accounts.tests.factories import make_user
from core.errors import ApplicationError
from core.models import AuditEvent
from core.roles import Role

pytestmark = pytest.mark.django_db


def test_admin_adds_a_new_person_who_sets_a_password_by_link(client, clinic_admin):
    clinic = clinic_admin.memberships.get().organization
    client.force_login(clinic_admin)
    r = client.post("/accounts/team/", {"full_name": "Nia New", "email": "Nia@Example.test", "role": "clinic_staff",
                                        "clinic": clinic.pk})
    assert r.status_code == 302
    nia = User.objects.get(email="nia@example.test")
    assert not nia.has_usable_password()
    assert Membership.objects.get(user=nia).organization == clinic
    assert AuditEvent.objects.filter(action="accounts.clinic_member_invite", actor=clinic_admin).exists()

    clinic_invite_send(Membership.objects.get(user=nia).pk, True)
    link = re.search(r"http\S+/accounts/reset/\S+", mail.outbox[-1].body).group(0)
    client.logout()
    form_page = client.get(urlsplit(link).path, follow=True)
    assert form_page.status_code == 200 and "Choose a new password" in form_page.content.decode()


def test_existing_account_is_added_without_a_new_password(clinic_admin):
    clinic = clinic_admin.memberships.get().organization
    someone = make_user(Role.INVESTOR)
    membership = services.clinic_member_invite(actor=clinic_admin, organization=clinic, email=someone.email,
                                               full_name="", role=Role.CLINIC_ADMIN)
    assert membership.role == Role.CLINIC_ADMIN and someone.has_usable_password()
    with pytest.raises(ApplicationError) as again:
        services.clinic_member_invite(actor=clinic_admin, organization=clinic, email=someone.email, full_name="")
    assert again.value.code == "already_member"


def test_only_the_clinics_admins_manage_its_team(client, clinic_admin):
    clinic = clinic_admin.memberships.get().organization
    staff = make_user(Role.CLINIC_STAFF, organization=clinic)
    other_admin = make_user(Role.CLINIC_ADMIN)
    with pytest.raises(ApplicationError) as denied:
        services.clinic_member_invite(actor=other_admin, organization=clinic, email="x@example.test", full_name="X")
    assert denied.value.status == 403
    client.force_login(staff)
    assert client.get("/accounts/team/").status_code == 403
    client.force_login(other_admin)
    victim = Membership.objects.get(user=staff)
    assert client.post(f"/accounts/team/{victim.pk}/remove/").status_code == 404
    assert Membership.objects.filter(pk=victim.pk).exists()


def test_the_last_admin_cannot_be_removed(clinic_admin):
    membership = clinic_admin.memberships.get()
    with pytest.raises(ApplicationError) as exc:
        services.clinic_member_remove(actor=clinic_admin, membership=membership)
    assert exc.value.code == "last_admin"
    staff = make_user(Role.CLINIC_STAFF, organization=membership.organization)
    services.clinic_member_remove(actor=clinic_admin, membership=staff.memberships.get())
    assert not staff.memberships.exists()
    assert AuditEvent.objects.filter(action="accounts.clinic_member_remove").exists()


def test_invite_form_shows_field_errors(client, clinic_admin):
    client.force_login(clinic_admin)
    r = client.post("/accounts/team/", {"full_name": "", "email": "nope", "role": "platform_admin"})
    body = r.content.decode()
    assert r.status_code == 200 and "Enter a valid email address." in body
    assert User.objects.count() == 1

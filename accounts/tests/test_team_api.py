"""API parity (issue 9, item 12): clinic signup and clinic team management through the API,
with the same services, permissions and audit as the web pages."""

import pytest

from accounts.models import Membership, Organization, User
from accounts.tests.factories import make_user
from core.models import AuditEvent
from core.roles import Role

pytestmark = pytest.mark.django_db


def test_clinic_signs_up_through_the_api(api_as):
    from rest_framework.test import APIClient

    api = APIClient()
    body = {"email": "Head@Clinic.test", "password": "a-long-Passw0rd!", "full_name": "Dr Head",
            "clinic_name": "Kigali Imaging", "country": "rw", "city": "Kigali"}
    r = api.post("/api/v1/auth/signup/clinic/", body, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["roles"] == [Role.CLINIC_ADMIN] and r.json()["email"] == "head@clinic.test"
    clinic = Organization.objects.get(name="Kigali Imaging")
    assert clinic.country == "RW" and Membership.objects.get(user__email="head@clinic.test").organization == clinic
    assert AuditEvent.objects.filter(action="accounts.clinic_signup").exists()
    again = api.post("/api/v1/auth/signup/clinic/", {**body, "email": "other@clinic.test"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "clinic_exists"
    weak = api.post("/api/v1/auth/signup/clinic/", {**body, "clinic_name": "B", "email": "b@c.test",
                                                    "password": "1234567890"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["error"]["details"]


def test_clinic_admin_manages_the_team_through_the_api(api_as, clinic_admin):
    clinic = clinic_admin.memberships.get().organization
    api = api_as(clinic_admin)
    r = api.post("/api/v1/accounts/team/", {"email": "Staff@Example.test", "full_name": "Sam Staff"}, format="json")
    assert r.status_code == 201, r.json()
    member = r.json()
    assert member["role"] == Role.CLINIC_STAFF and member["clinic_id"] == clinic.pk
    assert not User.objects.get(email="staff@example.test").has_usable_password()
    listed = api.get("/api/v1/accounts/team/").json()
    assert {m["email"] for m in listed} == {clinic_admin.email, "staff@example.test"}
    dup = api.post("/api/v1/accounts/team/", {"email": "staff@example.test", "full_name": "x"}, format="json")
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "already_member"
    assert api.post(f"/api/v1/accounts/team/{member['id']}/remove/", {"reason": "left"}, format="json"
                    ).status_code == 204
    assert not Membership.objects.filter(pk=member["id"]).exists()
    assert AuditEvent.objects.filter(action="accounts.clinic_member_remove", actor=clinic_admin).exists()
    own = Membership.objects.get(user=clinic_admin, organization=clinic)
    last = api.post(f"/api/v1/accounts/team/{own.pk}/remove/", {}, format="json")
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_admin"


def test_team_api_is_for_the_clinics_own_admins(api_as, clinic_admin):
    clinic = clinic_admin.memberships.get().organization
    staff = make_user(Role.CLINIC_STAFF, organization=clinic)
    assert api_as(staff).get("/api/v1/accounts/team/").status_code == 403
    other_admin = make_user(Role.CLINIC_ADMIN)
    other = api_as(other_admin)
    assert other.get(f"/api/v1/accounts/team/?clinic={clinic.pk}").status_code == 404
    membership = Membership.objects.get(user=staff)
    assert other.post(f"/api/v1/accounts/team/{membership.pk}/remove/", {}, format="json").status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()

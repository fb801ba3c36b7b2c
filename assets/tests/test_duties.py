"""Separation of duties: a device's appraiser and inspector are different people, and neither
works for the device's clinic."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Membership
from accounts.tests.factories import make_user
from assets import selectors, services
from assets.models import Appraisal, Certification, DeviceStatus
from core.errors import ApplicationError
from core.roles import Role

pytestmark = pytest.mark.django_db

PASS_ALL = {k: {"passed": True, "notes": ""} for k, _ in services.CHECKLIST}


def _member_of_clinic(role, device, clinic_role=Role.CLINIC_STAFF):
    user = make_user(role)
    Membership.objects.create(user=user, organization=device.organization, role=clinic_role)
    return user


def _certify(actor, device):
    return services.certification_complete(actor=actor, device=device, items=PASS_ALL,
                                           qa_calibration_date=timezone.localdate() - dt.timedelta(days=10))


def test_clinic_member_cannot_appraise_own_clinics_device(clinic_device_factory):
    device, _ = clinic_device_factory("submitted")
    insider = _member_of_clinic(Role.APPRAISER, device)
    with pytest.raises(ApplicationError) as e:
        services.appraisal_create(actor=insider, device=device, effective_date=timezone.localdate(),
                                  replacement_cost_new="1000000", currency="USD")
    assert e.value.code == "conflict_of_interest" and e.value.status == 403
    assert "member of" in e.value.message and "appraiser" in e.value.message
    assert not Appraisal.objects.filter(device=device).exists()


def test_clinic_admin_who_is_also_inspector_cannot_certify_own_device(clinic_device_factory):
    device, _ = clinic_device_factory("appraised")
    insider = _member_of_clinic(Role.INSPECTOR, device, clinic_role=Role.CLINIC_ADMIN)
    with pytest.raises(ApplicationError) as e:
        _certify(insider, device)
    assert e.value.code == "conflict_of_interest" and "inspector" in e.value.message
    device.refresh_from_db()
    assert device.status == DeviceStatus.APPRAISED and not Certification.objects.filter(device=device).exists()


def test_appraiser_of_a_device_cannot_inspect_it(clinic_device_factory):
    both = make_user(Role.APPRAISER)
    Membership.objects.create(user=both, organization=both.memberships.first().organization, role=Role.INSPECTOR)
    device, _ = clinic_device_factory("appraised", appraiser=both)
    with pytest.raises(ApplicationError) as e:
        _certify(both, device)
    assert e.value.code == "conflict_of_interest"
    assert "appraiser and its inspector must be different people" in e.value.message
    device.refresh_from_db()
    assert device.status == DeviceStatus.APPRAISED


def test_inspector_of_a_device_cannot_then_appraise_it(clinic_device_factory):
    both = make_user(Role.INSPECTOR)
    Membership.objects.create(user=both, organization=both.memberships.first().organization, role=Role.APPRAISER)
    device, admin = clinic_device_factory("appraised")
    # The inspection fails (stale QA date) and the device goes back to the clinic, then returns.
    services.certification_complete(actor=both, device=device, items=PASS_ALL,
                                    qa_calibration_date=timezone.localdate() - dt.timedelta(days=900))
    services.device_submit(actor=admin, device=device)
    with pytest.raises(ApplicationError) as e:
        services.appraisal_create(actor=both, device=device, effective_date=timezone.localdate(),
                                  replacement_cost_new="1000000", currency="USD")
    assert e.value.code == "conflict_of_interest" and "You inspected this device" in e.value.message


def test_independent_appraiser_and_inspector_certify(clinic_device_factory, appraiser, inspector):
    device, _ = clinic_device_factory("certified", appraiser=appraiser, inspector=inspector)
    assert device.status == DeviceStatus.CERTIFIED
    assert selectors.device_signed_appraisal(device=device).appraiser == appraiser


def test_conflict_of_interest_over_api_is_a_clear_403(clinic_device_factory, api_as):
    device, _ = clinic_device_factory("submitted")
    insider = _member_of_clinic(Role.APPRAISER, device)
    r = api_as(insider).post(f"/api/v1/devices/{device.pk}/appraisals/",
                             {"replacement_cost_new": "1000000", "currency": "USD"}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "conflict_of_interest"

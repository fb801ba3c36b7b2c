"""Each person hears when a device waits on them: appraisers on submission, inspectors once it
is appraised, the clinic when changes are requested, when it is appraised, certified or fails
its inspection (a stale QA test said as such). Once per event, in the recipient's language,
emailed unless they opted out of the category."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Membership
from accounts.tests.factories import make_user
from assets import notices, services
from assets.models import DeviceStatus
from assets.samples import pdf_upload, photo_upload
from core.errors import ApplicationError
from core.money import format_money
from core.roles import Role
from notifications.models import Category, EmailDelivery, Notification
from notifications.services import preferences_update

pytestmark = pytest.mark.django_db
PASS = {k: {"passed": True, "notes": ""} for k, _ in services.CHECKLIST}


def _notes(user, contains: str = "") -> list[Notification]:
    qs = Notification.objects.filter(recipient=user, category=Category.DEVICE_REVIEWS).order_by("pk")
    return [n for n in qs if contains in n.title]


def test_appraisers_hear_of_a_submission_once_in_their_language_and_by_email_as_they_chose(clinic_device_factory):
    device, admin = clinic_device_factory("draft")
    english = make_user(Role.APPRAISER)
    chinese = make_user(Role.APPRAISER, language="zh-hans")
    quiet = make_user(Role.APPRAISER)
    preferences_update(actor=quiet, email={Category.DEVICE_REVIEWS: False})
    # An appraiser who also works for the owning clinic may not value the device: not told.
    conflicted = make_user(Role.APPRAISER)
    Membership.objects.create(user=conflicted, organization=device.organization, role=Role.CLINIC_STAFF)
    inspector = make_user(Role.INSPECTOR)

    services.device_photo_add(actor=admin, device=device, upload=photo_upload())
    services.device_document_add(actor=admin, device=device, upload=pdf_upload(), kind="invoice")
    device = services.device_submit(actor=admin, device=device)

    [n] = _notes(english)
    assert n.title == f"{device} waits for appraisal"
    assert device.organization.name in n.body and n.url == f"/devices/{device.pk}/appraise/"
    [zh] = _notes(chinese)
    assert "计算机断层扫描" in zh.title  # the device's modality in the recipient's language
    assert _notes(quiet) and not EmailDelivery.objects.filter(notification__recipient=quiet).exists()
    assert EmailDelivery.objects.filter(notification=n, to_email=english.email).exists()
    assert not _notes(conflicted) and not _notes(inspector) and not _notes(admin)

    assert notices.device_submitted(device) == 0  # the same event tells nobody twice


def test_the_clinic_hears_changes_requested_with_the_reason(clinic_device_factory, appraiser):
    device, admin = clinic_device_factory("submitted")
    staff = make_user(Role.CLINIC_STAFF, organization=device.organization)
    other_clinic = make_user(Role.CLINIC_ADMIN)
    services.device_request_changes(actor=appraiser, device=device, reason="Add the service record.")
    for user in (admin, staff):
        [n] = _notes(user, "Changes requested")
        assert "Add the service record." in n.body and n.url == f"/devices/{device.pk}/"
    assert not _notes(other_clinic)


def test_appraised_tells_the_clinic_and_the_inspectors_but_not_the_appraiser(clinic_device_factory):
    inspector = make_user(Role.INSPECTOR)
    appraiser = make_user(Role.APPRAISER)
    Membership.objects.create(user=appraiser, organization=appraiser.memberships.first().organization,
                              role=Role.INSPECTOR)  # holds both roles: still may not inspect what they valued
    device, admin = clinic_device_factory("appraised", appraiser=appraiser)
    signed = device.appraisals.get(status="signed")
    [clinic] = _notes(admin, "was appraised")
    assert format_money(signed.reconciled_value, signed.currency) in clinic.body
    [waits] = _notes(inspector, "waits for inspection")
    assert waits.url == f"/devices/{device.pk}/inspect/"
    assert not _notes(appraiser, "waits for inspection")

    # A re-appraisal while it waits: the clinic hears of the new value, inspectors nothing new.
    again = services.appraisal_create(actor=appraiser, device=device, effective_date=timezone.localdate(),
                                      replacement_cost_new="1400000", currency="USD")
    services.appraisal_sign(actor=appraiser, appraisal=again)
    assert len(_notes(admin, "was appraised")) == 2
    assert len(_notes(inspector, "waits for inspection")) == 1


def test_certified_tells_the_clinic(clinic_device_factory):
    device, admin = clinic_device_factory("certified")
    [n] = _notes(admin, "is certified")
    assert n.url == f"/devices/{device.pk}/"


def test_a_stale_qa_test_tells_the_clinic_a_new_qa_test_is_needed(clinic_device_factory, inspector):
    device, admin = clinic_device_factory("appraised")
    old = timezone.localdate() - dt.timedelta(days=500)
    services.certification_complete(actor=inspector, device=device, items=PASS, qa_calibration_date=old)
    [n] = _notes(admin, "needs a new QA test")
    assert old.isoformat() in n.body and "12 months" in n.body and "submit it again" in n.body
    assert not _notes(admin, "failed its inspection")


def test_another_failure_tells_the_clinic_what_was_found(clinic_device_factory, inspector):
    device, admin = clinic_device_factory("appraised")
    items = {**PASS, "ownership": {"passed": False, "notes": "Invoice names another owner."}}
    services.certification_complete(actor=inspector, device=device, items=items,
                                    qa_calibration_date=timezone.localdate())
    device.refresh_from_db()
    assert device.status == DeviceStatus.CHANGES_REQUESTED
    [n] = _notes(admin, "failed its inspection")
    assert "Ownership evidence reviewed: Invoice names another owner." in n.body
    assert not _notes(admin, "needs a new QA test")


def test_a_refused_submission_tells_nobody(clinic_device_factory):
    device, _ = clinic_device_factory("draft")
    appraiser = make_user(Role.APPRAISER)
    with pytest.raises(ApplicationError):  # no photo, no document: the submission is refused
        services.device_submit(actor=device.created_by, device=device)
    assert not _notes(appraiser)

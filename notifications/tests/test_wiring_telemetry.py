"""Device keys (security: always emailed) and plausibility flags reach the clinic's admins."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from notifications.models import Category, Notification
from telemetry import services
from telemetry.ingest import ingest_batch
from telemetry.processing import process_new_events
from tests.fixtures.telemetry import procedure

pytestmark = pytest.mark.django_db


def test_key_issued_and_revoked_are_security_notices_for_the_clinic_admins(
        clinic_admin, telemetry_device, eager_celery, django_capture_on_commit_callbacks):
    from notifications.services import preferences_update

    preferences_update(actor=clinic_admin, email={Category.DEVICES: False})  # unrelated opt-out
    with django_capture_on_commit_callbacks(execute=True):
        issued = services.credential_issue(actor=clinic_admin, device=telemetry_device, label="agent")
    with django_capture_on_commit_callbacks(execute=True):
        services.credential_revoke(actor=clinic_admin, credential=issued.credential, reason="workstation replaced")
    notes = list(Notification.objects.filter(recipient=clinic_admin).order_by("pk"))
    assert [n.category for n in notes] == [Category.SECURITY, Category.SECURITY]
    assert notes[0].title.startswith("A device key was issued") and issued.credential.key_id in notes[0].body
    assert "workstation replaced" in notes[1].body
    assert len(mail.outbox) == 2


def test_a_flagged_batch_tells_the_clinic_once(clinic_admin, telemetry_credential):
    cred = telemetry_credential.credential
    t = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    ingest_batch(credential=cred, events=[procedure(1, end=t, minutes=20)])
    process_new_events(lag=timedelta(0))
    ingest_batch(credential=cred, events=[procedure(2, end=t + timedelta(minutes=10), minutes=15)])
    process_new_events(lag=timedelta(0))
    process_new_events(lag=timedelta(0))  # nothing new: no second notice
    flagged = Notification.objects.filter(recipient=clinic_admin, category=Category.DEVICES)
    assert flagged.count() == 1 and "flagged for review" in flagged.get().title

"""notify(): once per event and recipient, on commit, preferences respected, SMTP failures
retried, each email sent at most once."""

import pytest
from django.core import mail
from django.db import transaction

from core.errors import ApplicationError
from core.models import AuditEvent
from core.roles import Role
from notifications import selectors, services, tasks
from notifications.models import Category, EmailDelivery, Notification
from notifications.tests.backends import FlakySMTPBackend

pytestmark = pytest.mark.django_db


def _notify(user, **kw):
    args = {"recipient": user, "category": Category.ORDERS, "event_key": "order:1:paid",
            "title": "Payment received", "body": "We received 500.00 USD for order 1.", "url": "/orders/1/"}
    return services.notify(**{**args, **kw})


def test_same_event_twice_tells_the_person_once(investor, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _notify(investor)
        second = _notify(investor)
    assert first is not None and second is None
    assert Notification.objects.filter(recipient=investor).count() == 1
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == [investor.email] and msg.subject == "[MedRWA] Payment received"
    assert "We received 500.00 USD" in msg.body and "http://" in msg.body and "/orders/1/" in msg.body
    html, mime = msg.alternatives[0]
    assert mime == "text/html" and "Payment received" in html and "/orders/1/" in html
    d = EmailDelivery.objects.get()
    assert d.status == EmailDelivery.Status.SENT and d.attempts == 1 and d.sent_at is not None


def test_another_recipient_of_the_same_event_is_told_too(investor, clinic_admin):
    assert _notify(investor) is not None and _notify(clinic_admin) is not None


def test_nothing_is_sent_when_the_callers_transaction_rolls_back(investor, eager_celery,
                                                                 django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError),
          transaction.atomic()):
        _notify(investor)
        raise RuntimeError("the caller failed after notifying")
    assert not Notification.objects.exists() and not EmailDelivery.objects.exists()
    assert callbacks == [] and mail.outbox == []


def test_the_email_waits_for_the_commit(investor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        _notify(investor)
    assert len(callbacks) == 1 and mail.outbox == []
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.PENDING


def test_email_off_keeps_the_in_app_notice(investor, eager_celery, django_capture_on_commit_callbacks):
    services.preferences_update(actor=investor, email={Category.ORDERS: False})
    with django_capture_on_commit_callbacks(execute=True):
        n = _notify(investor)
    assert n is not None and selectors.unread_count(user=investor) == 1
    assert mail.outbox == [] and not EmailDelivery.objects.exists()
    # Other categories still email.
    with django_capture_on_commit_callbacks(execute=True):
        _notify(investor, category=Category.INCOME, event_key="dist:1")
    assert len(mail.outbox) == 1


def test_security_notices_always_email(clinic_admin, eager_celery, django_capture_on_commit_callbacks):
    with pytest.raises(ApplicationError) as exc:
        services.preferences_update(actor=clinic_admin, email={Category.SECURITY: False})
    assert exc.value.code == "always_on"
    # Even a stored opt-out (e.g. written before the rule) does not silence them.
    from notifications.models import NotificationPreference

    NotificationPreference.objects.create(user=clinic_admin, category=Category.SECURITY, email_enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        _notify(clinic_admin, category=Category.SECURITY, event_key="cred:1:issued", title="A device key was issued")
    assert [m.subject for m in mail.outbox] == ["[MedRWA] A device key was issued"]
    assert "always emailed" in mail.outbox[0].body


def test_smtp_failure_is_retried_and_sent_once(investor, eager_celery, settings,
                                               django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "notifications.tests.backends.FlakySMTPBackend"
    FlakySMTPBackend.calls, FlakySMTPBackend.failures = 0, 1
    with django_capture_on_commit_callbacks(execute=True):
        _notify(investor)
    d = EmailDelivery.objects.get()
    assert FlakySMTPBackend.calls == 2
    assert d.status == EmailDelivery.Status.SENT and d.attempts == 2
    assert len(mail.outbox) == 1
    # A redelivered task finds the row sent and sends nothing.
    tasks.email_delivery_send.apply(args=[d.pk])
    assert len(mail.outbox) == 1 and FlakySMTPBackend.calls == 2


def test_a_mail_server_that_stays_down_marks_the_email_failed(investor, settings):
    settings.EMAIL_BACKEND = "notifications.tests.backends.FlakySMTPBackend"
    FlakySMTPBackend.calls, FlakySMTPBackend.failures = 0, 100
    n = _notify(investor)
    d = n.email_delivery
    for _ in range(services.MAX_EMAIL_ATTEMPTS):
        with pytest.raises(OSError):  # SMTPException is an OSError: the task's autoretry catches it
            services.email_delivery_send(delivery_id=d.pk)
    d.refresh_from_db()
    assert d.status == EmailDelivery.Status.FAILED and d.attempts == services.MAX_EMAIL_ATTEMPTS
    assert "Connection unexpectedly closed" in d.last_error
    assert services.email_delivery_send(delivery_id=d.pk) is None and mail.outbox == []
    # The person still has the notice in the app.
    assert selectors.unread_count(user=investor) == 1


def test_a_lost_task_is_requeued_by_the_sweep(investor, eager_celery, django_capture_on_commit_callbacks):
    # The broker lost the task (the on-commit callback never ran): the row stays pending.
    with django_capture_on_commit_callbacks(execute=False):
        _notify(investor)
    assert mail.outbox == []
    assert services.email_deliveries_requeue(older_than_seconds=0) == 1
    assert len(mail.outbox) == 1 and EmailDelivery.objects.get().status == EmailDelivery.Status.SENT
    assert services.email_deliveries_requeue(older_than_seconds=0) == 0
    assert len(mail.outbox) == 1


def test_bad_input_writes_nothing(investor):
    with pytest.raises(ApplicationError) as exc:
        _notify(investor, url="https://evil.example/")
    assert exc.value.code == "invalid_url"
    with pytest.raises(ApplicationError):
        _notify(investor, category="nope")
    with pytest.raises(ApplicationError):
        _notify(investor, event_key=" ")
    assert not Notification.objects.exists()


def test_mark_read_and_all_read_are_audited_and_scoped(investor, user_with_role):
    other = user_with_role(Role.INVESTOR)
    a = _notify(investor, event_key="a")
    _notify(investor, event_key="b")
    theirs = _notify(other, event_key="a")
    services.notification_mark_read(actor=investor, notification=a)
    assert selectors.unread_count(user=investor) == 1
    with pytest.raises(ApplicationError) as exc:
        services.notification_mark_read(actor=investor, notification=theirs)
    assert exc.value.status == 404
    assert services.notification_mark_all_read(actor=investor) == 1
    assert selectors.unread_count(user=investor) == 0 and selectors.unread_count(user=other) == 1
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"notifications.mark_read", "notifications.mark_all_read"} <= actions


def test_clinic_admins_are_the_recipients_of_a_clinic_notice(clinic_admin, user_with_role):
    org = clinic_admin.memberships.get().organization
    staff = user_with_role(Role.CLINIC_STAFF, organization=org)
    outsider = user_with_role(Role.CLINIC_ADMIN)
    told = services.notify_organization(organization_id=org.pk, category=Category.CLINIC_STATEMENTS,
                                        event_key="dist:9:awaiting", title="Confirm your statement", body="")
    assert told == 1
    assert Notification.objects.filter(recipient=clinic_admin).count() == 1
    assert not Notification.objects.filter(recipient__in=[staff, outsider]).exists()

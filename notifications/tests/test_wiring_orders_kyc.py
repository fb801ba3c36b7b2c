"""The apps' events reach the people concerned, once, even when the webhook or the chain
confirmation is processed twice (issue 11, item 1)."""

import pytest
from django.core import mail

from chain.models import ChainTransaction
from compliance import services as kyc
from compliance.models import KycCase
from core.money import to_minor_units
from notifications.models import Notification
from payments import stripe_api
from tokens.models import OrderStatus
from tokens.primary import services as orders
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db


def _titles(user, category=None):
    qs = Notification.objects.filter(recipient=user).order_by("pk")
    return list((qs.filter(category=category) if category else qs).values_list("title", flat=True))


def _paid_event(order):
    return stripe_api.checkout_session_event(
        "checkout.session.completed", session_id=order.checkout_session_id,
        client_reference_id=str(order.public_id), amount_minor=to_minor_units(order.total, order.currency),
        currency=order.currency, payment_status="paid", payment_intent=f"pi_{order.public_id.hex[:20]}")


def test_same_webhook_twice_notifies_once(approved_investor, post_webhook, eager_celery,
                                          django_capture_on_commit_callbacks):
    order = orders.order_create(actor=approved_investor, offering=make_live_offering(), units=2)
    body = _paid_event(order)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert post_webhook(body).status_code == 200
    assert _titles(approved_investor, "orders") == ["Payment received for your order"]
    assert [m.subject for m in mail.outbox] == ["[MedRWA] Payment received for your order"]
    n = Notification.objects.get(recipient=approved_investor, category="orders")
    assert n.url == f"/investments/orders/{order.public_id}/"


def test_payment_hook_and_mint_confirmation_called_twice_notify_once(approved_investor, eager_celery,
                                                                     django_capture_on_commit_callbacks):
    order = orders.order_create(actor=approved_investor, offering=make_live_offering(), units=2)
    for event_id in ("evt_1", "evt_2"):  # the hook itself, called twice (a replay with a new event id)
        with django_capture_on_commit_callbacks(execute=True):
            orders.order_payment_received(order=order, amount=order.total, currency=order.currency,
                                          session_id=order.checkout_session_id, event_id=event_id)
    order.refresh_from_db()
    row = order.mint_tx
    ChainTransaction.objects.filter(pk=row.pk).update(status=ChainTransaction.Status.CONFIRMED,
                                                      tx_hash="0x" + "ab" * 32, block_number=7)
    row.refresh_from_db()
    for _ in range(2):  # the chain confirmation processed twice
        with django_capture_on_commit_callbacks(execute=True):
            orders.order_mint_final(order=order, row=row)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert _titles(approved_investor, "orders") == ["Payment received for your order", "Your units were issued"]
    assert len(mail.outbox) == 2


def test_failed_mint_tells_the_investor_why_and_about_the_refund(approved_investor, post_webhook,
                                                                 django_capture_on_commit_callbacks):
    order = orders.order_create(actor=approved_investor, offering=make_live_offering(), units=2)
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(_paid_event(order))
    order.refresh_from_db()
    ChainTransaction.objects.filter(pk=order.mint_tx.pk).update(status=ChainTransaction.Status.FAILED,
                                                                error="would revert: identity not verified")
    row = ChainTransaction.objects.get(pk=order.mint_tx.pk)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mint_final(order=order, row=row)
    titles = _titles(approved_investor, "orders")
    assert titles[:2] == ["Payment received for your order", "Your order failed: refund under way"]
    assert titles[-1] == "Your order was refunded"
    failed = Notification.objects.get(recipient=approved_investor, title__startswith="Your order failed")
    assert "could not be issued on chain" in failed.body


def test_kyc_decisions_reach_the_investor(investor, compliance_officer, identity_registry_row):
    from compliance.tests.factories import make_case

    case = make_case(investor, status=KycCase.Status.IN_REVIEW, officer=compliance_officer)
    kyc.kyc_case_request_info(actor=compliance_officer, case=case, reason="Your address proof is older than 3 months")
    n = Notification.objects.filter(recipient=investor).latest("pk")
    assert n.title == "Your KYC application needs more information" and "older than 3 months" in n.body
    kyc.kyc_case_submit(actor=investor, case=case)
    kyc.kyc_case_start_review(actor=compliance_officer, case=case)
    kyc.kyc_case_approve(actor=compliance_officer, case=case)
    assert _titles(investor) == ["We received your KYC application", "Your KYC application needs more information",
                                 "We received your KYC application", "Your KYC is approved"]


def test_kyc_expiry_warning_once(investor, compliance_officer, identity_registry_row):
    import datetime as dt

    from django.utils import timezone

    from compliance.tests.factories import make_case

    case = make_case(investor, status=KycCase.Status.APPROVED, officer=compliance_officer)
    KycCase.objects.filter(pk=case.pk).update(expires_at=timezone.now() + dt.timedelta(days=29))
    kyc.kyc_cases_expire_due()
    kyc.kyc_cases_expire_due()
    assert _titles(investor).count("Your KYC expires in 30 days") == 1

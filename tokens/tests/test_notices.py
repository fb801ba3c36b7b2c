"""Each person hears when an offering, an agent action or a market move waits on them or reaches
them (issue 18): once per event, in their own language, emailed as their preferences say."""

import datetime as dt
import secrets

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import make_user
from chain.models import ChainTransaction
from compliance.models import Wallet
from compliance.tests.factories import make_profile
from core.roles import Role
from notifications import tasks
from notifications.models import Notification, NotificationPreference
from tokens.market import services as market
from tokens.models import MarketOffer, MarketTransfer, OfferingStatus
from tokens.offerings import services
from tokens.tests.factories import (
    accept_pricing,
    clinic_admin_of,
    make_certified_device,
    make_live_offering,
    offering_terms,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_celery(monkeypatch):
    """notify()'s email task runs in this process, as a worker would run it."""
    task = tasks.email_delivery_send
    monkeypatch.setattr(task, "delay", lambda *args, **kwargs: task.apply(args=args, kwargs=kwargs))
    return task


def _notices(user, category=None):
    qs = Notification.objects.filter(recipient=user).order_by("pk")
    return list(qs.filter(category=category) if category else qs)


def _addr() -> str:
    return "0x" + secrets.token_hex(20)


# --------------------------------------------------------------------------- offerings


def test_the_clinic_admin_is_asked_for_consent_and_asked_again_when_the_terms_change(
        platform_admin, eager_celery, django_capture_on_commit_callbacks):
    device = make_certified_device()
    admin = clinic_admin_of(device)
    staff = make_user(Role.CLINIC_STAFF, organization=device.organization)
    other_clinic = make_user(Role.CLINIC_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    (n,) = _notices(admin)
    assert n.category == "offerings" and n.url == f"/offerings/{offering.pk}/"
    assert n.title == f"Your consent is needed to tokenize {device}"
    assert "Vida MRI Token (VIDA): 1000 units at 250.00 USD each, 30% of gross revenue to holders" in n.body
    assert [(m.to, m.subject) for m in mail.outbox] == [([admin.email], f"[MedRWA] {n.title}")]
    assert not _notices(staff) and not _notices(other_clinic) and not _notices(platform_admin)

    services.offering_update_terms(actor=platform_admin, offering=offering, data={"units": 900})
    latest = _notices(admin)[-1]
    assert latest.title == f"The offering's terms for {device} changed: consent again"
    assert "900 units at 250.00 USD each" in latest.body


def test_platform_admins_hear_when_the_clinic_consented_and_a_second_person_when_pricing_needs_an_exception(
        platform_admin):
    other_admin = make_user(Role.PLATFORM_ADMIN)
    officer = make_user(Role.COMPLIANCE_OFFICER)
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    for admin in (platform_admin, other_admin):
        (n,) = _notices(admin, "offerings")
        assert n.title == f"{device.organization.name} consented: deploy VIDA"
        # No revenue measured yet: the pricing needs a second person's acceptance first.
        assert "outside the platform's bands" in n.body and n.url == f"/offerings/{offering.pk}/"
    (ask,) = _notices(officer, "offerings")
    assert ask.title == "VIDA: a pricing exception waits for your review"
    # The clinic's admin who consented, and the investors, are not told.
    assert Notification.objects.filter(event_key__contains=f"offering:{offering.pk}:consented").count() == 3


def test_platform_admins_hear_when_the_pricing_exception_they_waited_on_is_accepted(platform_admin):
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    officer = make_user(Role.COMPLIANCE_OFFICER)
    accept_pricing(offering, by=officer)
    titles = [n.title for n in _notices(platform_admin, "offerings")]
    assert titles == ["Clinic consented: deploy VIDA".replace("Clinic", device.organization.name),
                      "Pricing of VIDA accepted: deploy it"]
    assert officer.email in _notices(platform_admin)[-1].body


def test_consent_on_accepted_pricing_says_the_token_can_be_deployed(platform_admin):
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    accept_pricing(offering)
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    (n,) = _notices(platform_admin, "offerings")
    assert "The token can now be deployed from the offering page." in n.body


def test_platform_admins_hear_when_a_deployment_failed_once_per_attempt(platform_admin):
    offering = services.offering_create(actor=platform_admin, device=make_certified_device(), data=offering_terms())
    type(offering).objects.filter(pk=offering.pk).update(status=OfferingStatus.DEPLOYING)
    services.offering_failed(offering=offering, error="execution reverted: TokenAlreadyDeployed")
    services.offering_failed(offering=offering, error="execution reverted: again")  # not deploying any more
    (n,) = _notices(platform_admin, "offerings")
    assert n.title == "Deploying VIDA failed"
    assert "execution reverted: TokenAlreadyDeployed" in n.body and "deploy again" in n.body


# ----------------------------------------------------------------------- agent actions


def test_a_held_forced_transfer_asks_every_other_officer_to_confirm_by_its_deadline_in_their_zone(settings):
    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 100
    requester, second, third = (make_user(Role.COMPLIANCE_OFFICER) for _ in range(3))
    third.time_zone = "Asia/Shanghai"
    third.save(update_fields=["time_zone"])
    offering = make_live_offering()
    small = services.agent_action_request(actor=requester, offering=offering, kind="forced_transfer",
                                          wallet=_addr(), to_wallet=_addr(), amount=5, reason="Court order 1")
    assert small.chain_tx_id and not Notification.objects.exists()  # sent at once: nobody waits
    held = services.agent_action_request(actor=requester, offering=offering, kind="forced_transfer",
                                         wallet=_addr(), to_wallet=_addr(), amount=150, reason="Court order 2")
    assert held.state == "awaiting_confirmation"
    assert not _notices(requester)
    for officer, zone in ((second, "UTC"), (third, "CST")):
        (n,) = _notices(officer, "kyc")
        assert n.title == f"Forced transfer on {offering.token_symbol} waits for your confirmation"
        assert requester.email in n.body and "150 units" in n.body and "Court order 2" in n.body
        assert zone in n.body and n.url == f"/token-actions/{offering.pk}/"


# ---------------------------------------------------------------------------- market


def _confirmed(t: MarketTransfer, logs: list) -> ChainTransaction:
    row = ChainTransaction.objects.create(
        idempotency_key=f"test:{t.pk}", kind="tokens.market_take", contract_name="Settlement", function="take",
        args=[], to_address=_addr(), status=ChainTransaction.Status.CONFIRMED, tx_hash="0x" + secrets.token_hex(32),
        block_number=9, receipt={"logs": logs}, sender="agent")
    MarketTransfer.objects.filter(pk=t.pk).update(chain_tx=row)
    return row


def _moved(t, token):
    return {"event": "Transfer", "address": token, "args": {"from": t.from_wallet, "to": t.to_wallet,
                                                             "value": t.units}}


def test_a_stablecoin_buyer_and_the_seller_hear_when_the_fill_settles(monkeypatch):
    monkeypatch.setattr(market, "_reindex", lambda offering: None)
    monkeypatch.setattr(market, "_sync_offer", lambda offer, **kw: offer)
    offering = make_live_offering()
    seller, buyer = make_profile(), make_profile()
    board = _addr()
    offer = MarketOffer.objects.create(
        offering=offering, seller=seller.user, seller_wallet=seller.wallets.get().address, board_address=board,
        board_offer_id=3, units=40, units_remaining=30, price_per_unit_base_units=2_500_000, stablecoin_decimals=6,
        status="open", expires_at=timezone.now() + dt.timedelta(days=3))
    t = MarketTransfer.objects.create(kind=MarketTransfer.Kind.FILL, offering=offering, offer=offer,
                                      actor=buyer.user, counterparty=seller.user, from_wallet=offer.seller_wallet,
                                      to_wallet=buyer.wallets.get().address, units=10,
                                      paid_base_units="25000000", fee_base_units="250000")
    row = _confirmed(t, [_moved(t, offering.token_address)])
    for _ in range(2):  # the confirmation processed twice tells each of them once
        market.on_transfer_final(row)
    (sold,) = _notices(seller.user, "market")
    assert sold.title == f"Your {offering.token_symbol} offer was filled: 10 units sold"
    (bought,) = _notices(buyer.user, "market")
    assert bought.title == f"Your purchase of 10 {offering.token_symbol} units settled"
    assert "25.00 USD was paid from it in stablecoin" in bought.body and "fee of 0.25 USD" in bought.body
    assert t.to_wallet in bought.body


def test_the_receiver_of_a_transfer_hears_that_units_arrived_and_the_sender_does_not(monkeypatch):
    monkeypatch.setattr(market, "_reindex", lambda offering: None)
    offering = make_live_offering()
    sender, receiver = make_profile(), make_profile()
    NotificationPreference.objects.create(user=receiver.user, category="market", email_enabled=False)
    to_wallet = Wallet.objects.filter(profile=receiver).get().address
    # Sent to a wallet address: the receiver is found by the platform's wallet records.
    t = MarketTransfer.objects.create(kind=MarketTransfer.Kind.TRANSFER, offering=offering, actor=sender.user,
                                      from_wallet=sender.wallets.get().address, to_wallet=to_wallet, units=7)
    row = _confirmed(t, [_moved(t, offering.token_address)])
    market.on_transfer_final(row)
    market.on_transfer_final(row)
    (n,) = _notices(receiver.user, "market")
    assert n.title == f"You received 7 {offering.token_symbol} units"
    assert to_wallet in n.body and t.from_wallet in n.body
    assert not hasattr(n, "email_delivery")  # the receiver switched market emails off
    assert not _notices(sender.user)


def test_a_failed_transfer_tells_the_receiver_nothing(monkeypatch):
    monkeypatch.setattr(market, "_reindex", lambda offering: None)
    offering = make_live_offering()
    sender, receiver = make_profile(), make_profile()
    t = MarketTransfer.objects.create(kind=MarketTransfer.Kind.TRANSFER, offering=offering, actor=sender.user,
                                      counterparty=receiver.user, from_wallet=sender.wallets.get().address,
                                      to_wallet=receiver.wallets.get().address, units=7)
    row = _confirmed(t, [])  # mined, but these units did not move
    market.on_transfer_final(row)
    assert not _notices(receiver.user)

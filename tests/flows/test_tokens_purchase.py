"""Buying units end to end on a real anvil: KYC approval registers the investor on chain →
order → simulator checkout (signed webhook) → mint through the outbox → the investor's
custodial wallet holds the units on chain, the cap table shows them, a receipt is issued."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from chain import gateway
from chain.models import ChainTransaction
from compliance.selectors import custodial_wallet
from core.errors import ApplicationError
from core.models import AuditEvent
from core.pdf import sha256_hex
from tokens import ledger
from tokens.models import OrderStatus
from tokens.offerings import services
from tokens.primary import services as orders
from tokens.tests.factories import (
    accept_pricing,
    clinic_admin_of,
    make_certified_device,
    make_investor,
    offering_terms,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _confirmed(drain_outbox):
    rows = drain_outbox(ids=list(ChainTransaction.objects.exclude(status__in=["confirmed", "failed"])
                                 .values_list("pk", flat=True)))
    return rows


@pytest.fixture
def live_offering(chain_ready, platform_admin, drain_outbox):
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device,
                                        data=offering_terms(allowed_countries=[826, 276]))
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    accept_pricing(offering)
    services.offering_deploy(actor=platform_admin, offering=offering)
    drain_outbox()
    offering.refresh_from_db()
    assert offering.status == "live", offering.error
    return offering


@pytest.fixture
def onchain_investor(chain_ready, drain_outbox):
    investor = make_investor()  # GB resident, KYC approved: wallet registration queued
    rows = _confirmed(drain_outbox)
    assert all(r.status == "confirmed" for r in rows), [(r.function, r.error) for r in rows]
    wallet = custodial_wallet(user=investor).address
    assert gateway.call("IdentityRegistry", chain_ready["IdentityRegistry"], "isVerified", wallet)
    return investor


def test_investor_buys_units_and_holds_them_on_chain(client, live_offering, onchain_investor, drain_outbox):
    investor, token = onchain_investor, live_offering.token_address
    wallet = custodial_wallet(user=investor).address
    client.force_login(investor)
    resp = client.post(reverse("tokens:invest-buy", args=[live_offering.pk]), {"units": "7"})
    order = investor.token_orders.get()
    assert resp["Location"] == order.checkout_url
    # The simulator's Pay button: a signed checkout.session.completed through our webhook.
    session = order.checkout_session_id
    resp = client.post(reverse("payments:simulator-action", args=[session]), {"action": "pay"})
    assert resp.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.MINTING

    drain_outbox()
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED, order.error
    assert gateway.call("SecurityToken", token, "balanceOf", wallet) == 7
    holders = ledger.cap_table(offering=live_offering)["holders"]
    assert [(h["wallet"].lower(), h["units"]) for h in holders] == [(wallet.lower(), 7)]
    (holding,) = ledger.unit_holdings(user=investor)
    assert holding["units"] == 7 and holding["offering"] == live_offering

    pdf = order.receipt_pdf.read()
    assert sha256_hex(pdf) == order.receipt_sha256
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for expected in (order.mint_tx.tx_hash, wallet, "1,750.00 USD", "Magnetom Vida", str(order.public_id)):
        assert expected in text.replace("\n", ""), expected
    # The issued copy byte for byte; the download is the same receipt rendered for its reader.
    resp = client.get(reverse("tokens:order-receipt", args=[order.public_id]) + "?issued=1")
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == pdf
    resp = client.get(reverse("tokens:order-receipt", args=[order.public_id]))
    shown = "".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.content)).pages).replace("\n", "")
    assert resp.status_code == 200 and order.mint_tx.tx_hash in shown and str(order.public_id) in shown
    page = client.get(reverse("tokens:my-investments")).content.decode()
    assert "Completed" in page and ">7" in page
    # Payment kept, order completed, 7 units minted and 7 on chain: nothing to reconcile.
    from tokens.primary.reconciliation import reconcile

    assert reconcile()["mismatches"] == []
    assert AuditEvent.objects.filter(action="tokens.order_completed", object_id=str(order.pk)).exists()
    assert ledger.units_available(live_offering) == 393


def test_a_mint_refused_on_chain_refunds_the_payment(live_offering, onchain_investor, drain_outbox, chain_ready,
                                                     post_webhook, django_capture_on_commit_callbacks):
    from django.db import transaction

    from chain.services import outbox_enqueue
    from payments import stripe_api
    from payments.models import Payment
    from tokens.primary.reconciliation import reconcile

    investor = onchain_investor
    wallet = custodial_wallet(user=investor).address
    order = orders.order_create(actor=investor, offering=live_offering, units=3)
    # The investor's on-chain KYC lapses while the platform still counts them eligible: the
    # token refuses the mint, so the payment must go back.
    with transaction.atomic():
        outbox_enqueue(actor=None, idempotency_key="test:expire", kind="test.expire", contract_name="IdentityRegistry",
                       function="setKycExpiry", args=[wallet, 1], to_address=chain_ready["IdentityRegistry"],
                       sender="agent")
    _confirmed(drain_outbox)
    body = stripe_api.checkout_completed_event(session_id=order.checkout_session_id,
                                               client_reference_id=str(order.public_id), amount_minor=75000,
                                               currency="USD")
    assert post_webhook(body).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.MINTING
    with django_capture_on_commit_callbacks(execute=True):
        drain_outbox()
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED, order.error
    assert "could not be issued on chain" in order.error and "refunded in full" in order.error
    assert AuditEvent.objects.filter(action="tokens.order_mint_failed", object_id=str(order.pk)).exists()
    assert Payment.objects.get(session_id=order.checkout_session_id).status == Payment.Status.REFUNDED
    assert gateway.call("SecurityToken", live_offering.token_address, "totalSupply") == 0
    assert reconcile()["mismatches"] == []


def test_an_investor_chooses_a_linked_self_custody_wallet_as_the_destination(live_offering, drain_outbox,
                                                                             compliance_officer, client):
    from accounts.tests.factories import make_user
    from core.permissions import Role
    from tokens.tests.factories import approved_investor_wallets

    investor = make_user(Role.INVESTOR)
    # A German investor (the offering admits GB and DE) with a custodial and a linked self-custody wallet.
    _custodial, own = approved_investor_wallets(investor, compliance_officer, drain_outbox)
    client.force_login(investor)
    page = client.get(reverse("tokens:invest-buy", args=[live_offering.pk])).content.decode()
    assert own in page  # offered as a destination
    client.post(reverse("tokens:invest-buy", args=[live_offering.pk]), {"units": "4", "wallet": own})
    order = investor.token_orders.get()
    assert order.wallet == own
    client.post(reverse("payments:simulator-action", args=[order.checkout_session_id]), {"action": "pay"})
    drain_outbox()
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED, order.error
    assert gateway.call("SecurityToken", live_offering.token_address, "balanceOf", own) == 4
    # Someone else's address is not a destination.
    with pytest.raises(ApplicationError) as err:
        orders.order_create(actor=investor, offering=live_offering, units=1, wallet="0x" + "ab" * 20)
    assert err.value.code == "unknown_wallet"

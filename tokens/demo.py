"""Demo data: tokenize a certified demo device when the local chain is running, and sell
the demo investor a few units (through the payment simulator) so the cap table has a holder."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, User
from assets.selectors import device_latest_appraisal_value
from chain import gateway, processor
from chain.bootstrap import bootstrap
from chain.models import ChainTransaction, Deployment
from chain.selectors import deployment_address
from chain.services import outbox_enqueue
from compliance.selectors import custodial_wallet, investor_is_eligible
from core.errors import ApplicationError
from core.permissions import Role
from payments import services as payments
from payments.models import Payment
from payments.stripe_api import simulator_enabled
from telemetry.models import RevenuePeriod
from telemetry.services import revenue_period_close
from tokens.distributions import services as distributions
from tokens.models import ComplianceChange, Distribution, Offering, OfferingStatus, Order, OrderStatus
from tokens.offerings import compliance_params, selectors, services
from tokens.primary import services as orders

DEMO_INVESTOR = "investor@demo.medrwa.local"
DEMO_ORDER_UNITS = 10
DEMO_UNITS = 1000


def seed_demo_offering(stdout) -> None:
    _seed_offering(stdout)
    _seed_order(stdout)
    _seed_distribution(stdout)
    _seed_market(stdout)


def _seed_offering(stdout) -> None:

    if Offering.objects.exists():
        return  # one demo offering; later runs (and devices certified by hand) are left alone
    device = selectors.devices_ready_to_tokenize().order_by("pk").first()
    if device is None:
        stdout.write("tokens: no certified device to tokenize; skipping the demo offering.\n")
        return
    if not gateway.is_available():
        stdout.write("tokens: the chain is not running yet; the demo offering is created once it is.\n")
        return
    admin = Membership.objects.filter(role=Role.PLATFORM_ADMIN).select_related("user").first()
    clinic_admin = Membership.objects.filter(role=Role.CLINIC_ADMIN, organization=device.organization).first()
    if admin is None or clinic_admin is None:
        stdout.write("tokens: no platform admin / clinic admin for the demo offering; skipping.\n")
        return
    if not Deployment.objects.exists():

        bootstrap(stdout=stdout)
    # Priced at its signed appraisal: 1,000 units of the appraised value (a unit is 1/1,000 of
    # the scanner's revenue right). Terms sized so holders earn what equipment finance and
    # tokenized real assets pay (about 6–15 %/yr, docs/economics.md): the demo CT grosses about
    # 1.9 M USD a year, so 4 % of gross to holders is about 76 k USD a year on 650 k USD, ~12 %.
    appraised = device_latest_appraisal_value(device=device)
    price = (appraised[0] / DEMO_UNITS).quantize(Decimal("0.01")) if appraised else Decimal("650.00")
    with transaction.atomic():
        offering = services.offering_create(actor=admin.user, device=device, data={
            "token_name": f"{device.manufacturer} {device.model_name}"[:60],
            "token_symbol": f"MED{device.pk}"[:11], "units": DEMO_UNITS, "price_per_unit": price,
            "currency": "USD", "share_offered_pct": Decimal("40.00"), "allowed_countries": [840, 826, 276, 250],
            "max_per_investor": 200, "holder_cap": 500,
            "lockup_until": timezone.localdate() + dt.timedelta(days=90), "revenue_share_pct": Decimal("4.00"),
            # Reserve target: about a year of service contract; the clinic keeps what runs the scanner.
            "platform_fee_pct": Decimal("1.00"), "reserve_pct": Decimal("2.00"), "reserve_target": Decimal("25000.00"),
            "clinic_share_pct": Decimal("93.00"), "includes_compute_revenue": True,
        })
        services.offering_record_consent(actor=clinic_admin.user, offering=offering)
        check = services.pricing_check(offering=offering)
        officer = Membership.objects.filter(role=Role.COMPLIANCE_OFFICER).select_related("user").first()
        if services.pricing_refusal(offering=offering, check=check) is not None and officer is not None:
            # Priced at the appraisal, but the demo's measured revenue may be too short to
            # project a yield from (e.g. early in a month after February): a second person
            # accepts the exception in writing, as on a real platform, and investors see why.
            services.offering_accept_pricing(actor=officer.user, offering=offering, reason=(
                "Demo: priced at the signed appraisal; the projection rests on the demo's few weeks of simulated "
                "usage. Reviewed: " + "; ".join(r.message for r in check.reasons)))
        services.offering_deploy(actor=admin.user, offering=offering)
    processor.drain(timeout=60)
    offering.refresh_from_db()
    stdout.write(f"tokens: {offering} is {offering.get_status_display()} at {offering.token_address}\n")


def _seed_order(stdout) -> None:
    """One completed order for the demo investor (idempotent: any order of theirs counts)."""

    investor = User.objects.filter(email=DEMO_INVESTOR).first()
    offering = Offering.objects.filter(status=OfferingStatus.LIVE).order_by("pk").first()
    if investor is None or offering is None or Order.objects.filter(investor=investor).exists():
        return
    if not simulator_enabled() or not investor_is_eligible(user=investor) or not gateway.is_available():
        stdout.write("tokens: the demo investor's order follows once KYC is approved and the chain is up.\n")
        return
    wallet = custodial_wallet(user=investor)
    processor.drain(timeout=60)  # the investor's identity registration, if still queued
    if wallet is None or not gateway.call("IdentityRegistry", _registry_address(), "isVerified", wallet.address):
        stdout.write("tokens: the demo investor's wallet is not verified on chain yet; no demo order.\n")
        return
    try:
        order = orders.order_create(actor=investor, offering=offering, units=DEMO_ORDER_UNITS)
    except ApplicationError as exc:  # e.g. an older demo offering not open to the investor's country
        stdout.write(f"tokens: no demo order: {exc.message}\n")
        return
    payments.simulator_pay(actor=investor, payment=Payment.objects.get(session_id=order.checkout_session_id))
    processor.drain(timeout=60)
    order.refresh_from_db()
    stdout.write(f"tokens: demo investor bought {order.units} {offering.token_symbol}: "
                 f"order {order.get_status_display().lower()}\n")


def _registry_address() -> str:

    return deployment_address("IdentityRegistry")


def _seed_distribution(stdout) -> None:
    """The previous month of the demo offering's device, distributed through the real path:
    the platform admin closes it, the clinic's admin confirms the statement and pays it
    through the payment simulator (signed webhook), the outbox deposits the holders' share
    with the report's hash. Idempotent: a month already closed is left as it is."""

    offering = Offering.objects.filter(status=OfferingStatus.LIVE).select_related("device").order_by("pk").first()
    if offering is None or not Order.objects.filter(offering=offering, status=OrderStatus.COMPLETED).exists():
        return
    today = timezone.now().date()
    start = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    if RevenuePeriod.objects.filter(device=offering.device, period_start=start).exists():
        return
    if not simulator_enabled() or not gateway.is_available():
        stdout.write("tokens: the demo distribution follows once the chain is up (simulator payments).\n")
        return
    admin = Membership.objects.filter(role=Role.PLATFORM_ADMIN).select_related("user").first()
    clinic_admin = (Membership.objects.filter(role=Role.CLINIC_ADMIN, organization=offering.device.organization)
                    .select_related("user").first())
    if admin is None or clinic_admin is None:
        return
    try:
        period = revenue_period_close(actor=admin.user, device=offering.device, period_start=start)
    except ApplicationError as exc:
        stdout.write(f"tokens: no demo distribution: {exc.message}\n")
        return
    d = Distribution.objects.filter(period=period).first()
    if d is None or d.status != "awaiting_clinic":
        stdout.write(f"tokens: {start:%B %Y} closed, nothing to distribute.\n")
        return
    distributions.distribution_confirm(actor=clinic_admin.user, distribution=d)
    payment = distributions.distribution_checkout(actor=clinic_admin.user, distribution=d,
                                                  success_url="/", cancel_url="/")
    payments.simulator_pay(actor=clinic_admin.user, payment=Payment.objects.get(pk=payment.pk))
    processor.drain(timeout=60)
    d.refresh_from_db()
    stdout.write(f"tokens: {start:%B %Y} revenue of {offering.token_symbol}: gross {d.gross} {d.currency}, "
                 f"holders' pool {d.holders_amount} ({d.investors_amount} for the {d.units_outstanding} of "
                 f"{d.units_total} units investors hold) — {d.get_status_display().lower()} "
                 f"(verify at /verify/distributions/{d.public_id}/)\n")


DEMO_INVESTOR2 = "investor2@demo.medrwa.local"
DEMO_BUYER_USD = 5_000  # demo stablecoin for the second investor, to try a purchase on the board


def _seed_market(stdout) -> None:
    """So a trade can be tried between the two demo investors: the compliance officer lifts the
    demo CT's lock-up (officer controls, audited, through the outbox) and the second investor's
    custodial wallet gets demo USD stablecoin (MockStablecoin: local chains only). Idempotent."""

    offering = Offering.objects.filter(status=OfferingStatus.LIVE).order_by("pk").first()
    buyer = User.objects.filter(email=DEMO_INVESTOR2).first()
    officer = Membership.objects.filter(role=Role.COMPLIANCE_OFFICER).select_related("user").first()
    if offering is None or buyer is None or officer is None or not gateway.is_available():
        return
    did = False
    if offering.lockup_until and not ComplianceChange.objects.filter(offering=offering).exists():
        did = True
        try:
            compliance_params.compliance_change_request(
                actor=officer.user, offering=offering, supply_cap=offering.units,
                max_per_investor=offering.max_per_investor, holder_cap=offering.holder_cap, lockup_until=None,
                allowed_countries=offering.allowed_countries,
                reason="Demo: lock-up lifted so the demo investors can try the market")
        except ApplicationError as exc:
            stdout.write(f"tokens: the demo lock-up stays: {exc.message}\n")
    wallet = custodial_wallet(user=buyer)
    key = f"demo:usd:{wallet.address.lower()}" if wallet is not None else ""
    if wallet is not None and wallet.registered_on_chain and not ChainTransaction.objects.filter(
            idempotency_key=key).exists():

        did = True
        stable = deployment_address("MockStablecoin")
        amount = DEMO_BUYER_USD * 10 ** int(gateway.call("MockStablecoin", stable, "decimals"))
        with transaction.atomic():
            outbox_enqueue(actor=None, idempotency_key=key, kind="tokens.demo_usd",
                           contract_name="MockStablecoin", function="mint", to_address=stable,
                           args=[wallet.address, amount], sender="operator",
                           reason="demo stablecoin to try a purchase on the market")
    if not did:
        return
    processor.drain(timeout=60)
    offering.refresh_from_db()
    stdout.write(f"tokens: market ready to try: {offering.token_symbol} lock-up "
                 f"{offering.lockup_until or 'lifted'}; {DEMO_INVESTOR2} holds demo USD to buy from "
                 f"{DEMO_INVESTOR}'s offer.\n")

"""A world with a distributed month, built through the real paths on a real anvil: a live
offering, three holders (custodial, self-custody, frozen), a month of the agent's simulated
usage ingested and rolled up, the month closed, the clinic's confirmation and card payment
(simulator → signed webhook), and the deposit through the outbox. Used by flow tests, the
browser journeys and the verify-script test."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from eth_account import Account

from chain import gateway
from chain.models import ChainTransaction
from compliance.models import Wallet
from compliance.selectors import custodial_wallet
from telemetry.models import Tariff
from tokens.models import Distribution, Offering
from tokens.offerings import services
from tokens.tests.factories import (
    accept_pricing,
    clinic_admin_of,
    make_certified_device,
    make_investor,
    mint_via_outbox,
    offering_terms,
    register_identity_via_outbox,
)

UNITS = {"custodial": 100, "self_custody": 50, "frozen": 30}  # 180: deposits leave dust


@dataclass
class World:
    offering: Offering
    clinic_admin: object
    platform_admin: object
    custodial: object  # investor users
    self_custody: object
    frozen: object
    wallets: dict  # role -> address
    self_custody_key: str  # the self-custody investor's own key (their browser wallet's)
    period_start: dt.date
    period_end: dt.date


def previous_month(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or timezone.now().date()
    end = today.replace(day=1)
    return (end - dt.timedelta(days=1)).replace(day=1), end


def _drain(drain):
    """Every outbox row (including those that confirmation hooks add) final and confirmed."""
    before = set(ChainTransaction.objects.filter(status="failed").values_list("pk", flat=True))
    drain()
    bad = [(r.function, r.error) for r in ChainTransaction.objects.filter(status="failed").exclude(pk__in=before)]
    assert not bad, bad


def build_holders(*, platform_admin, drain) -> World:
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms(
        allowed_countries=[826, 276], includes_compute_revenue=True, max_per_investor=300))
    clinic = clinic_admin_of(device)
    services.offering_record_consent(actor=clinic, offering=offering)
    accept_pricing(offering)
    services.offering_deploy(actor=platform_admin, offering=offering)
    custodial = make_investor()
    frozen = make_investor()
    self_custody = make_investor()
    _drain(drain)
    offering.refresh_from_db()
    assert offering.status == "live", offering.error
    # A fresh key per world: the session's anvil outlives each test's database. anvil funds it
    # with gas and (anvil_impersonateAccount) lets a browser journey send from it unsigned.
    own = Account.create()
    web3 = gateway.w3()
    web3.provider.make_request("anvil_setBalance", [own.address, hex(10**19)])
    web3.provider.make_request("anvil_impersonateAccount", [own.address])
    profile = self_custody.investor_profile
    Wallet.objects.create(profile=profile, address=own.address, kind=Wallet.Kind.SELF_CUSTODY,
                          registered_on_chain=True)
    register_identity_via_outbox(own.address, custodial_wallet(user=self_custody).address, country=826)
    wallets = {"custodial": custodial_wallet(user=custodial).address, "self_custody": own.address,
               "frozen": custodial_wallet(user=frozen).address}
    for role, wallet in wallets.items():
        mint_via_outbox(offering, wallet, UNITS[role])
    _drain(drain)
    from chain.services import outbox_enqueue

    with transaction.atomic():
        outbox_enqueue(actor=None, idempotency_key=f"t-freeze:{wallets['frozen']}", kind="tokens.agent_action",
                       contract_name="SecurityToken", function="setAddressFrozen", args=[wallets["frozen"], True],
                       to_address=offering.token_address)
    _drain(drain)
    start, end = previous_month()
    return World(offering=offering, clinic_admin=clinic, platform_admin=platform_admin, custodial=custodial,
                 self_custody=self_custody, frozen=frozen, wallets=wallets, self_custody_key=own.key.hex(),
                 period_start=start, period_end=end)


def simulate_month(world: World, *, seed: int = 7) -> None:
    """The agent's simulator produces the month; it is uploaded through the signed-ingest
    service as the agent would have (received at the month's end), then rolled up."""
    from agent import simulate
    from agent.spool import Spool
    from telemetry.demo import DEMO_TARIFFS
    from telemetry.ingest import ingest_batch
    from telemetry.processing import process_new_events
    from telemetry.services import credential_issue

    device = world.offering.device
    for cpt, fee in DEMO_TARIFFS.items():
        Tariff.objects.get_or_create(cpt_code=cpt, payer="default", year=world.period_start.year,
                                     defaults={"technical_fee": fee, "currency": "USD"})
    cred = credential_issue(actor=world.clinic_admin, device=device, label="test agent").credential
    end = dt.datetime.combine(world.period_end, dt.time.min, tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory() as tmp, Spool(Path(tmp) / "spool.db") as spool:
        simulate.backfill(spool, modality=device.modality, days=(world.period_end - world.period_start).days,
                          device_id=f"device-{device.pk}", seed=seed, tz=dt.UTC, now=end)
        while events := spool.pending(1000):
            result = ingest_batch(credential=cred, events=[e.to_wire() for e in events], received_at=end)
            spool.remove([r["seq"] for r in result.results])
    process_new_events(lag=dt.timedelta(0))


def close_and_pay(world: World, *, drain, pay: bool = True) -> Distribution:
    """Close the month (platform admin), the clinic confirms and pays by card through the
    simulator's signed webhook, the outbox deposits."""
    from payments.models import Payment
    from payments.services import simulator_pay
    from telemetry.services import revenue_period_close
    from tokens.distributions import services as distributions

    period = revenue_period_close(actor=world.platform_admin, device=world.offering.device,
                                  period_start=world.period_start)
    d = Distribution.objects.get(period=period)
    distributions.distribution_confirm(actor=world.clinic_admin, distribution=d)
    if not pay:
        return d
    payment = distributions.distribution_checkout(actor=world.clinic_admin, distribution=d,
                                                  success_url="http://testserver/ok", cancel_url="http://testserver/no")
    simulator_pay(actor=world.clinic_admin, payment=Payment.objects.get(pk=payment.pk))
    _drain(drain)
    d.refresh_from_db()
    return d


def distributed_world(*, platform_admin, drain) -> tuple[World, Distribution]:
    world = build_holders(platform_admin=platform_admin, drain=drain)
    simulate_month(world)
    d = close_and_pay(world, drain=drain)
    assert d.status == "distributed", (d.status, d.error)
    return world, d


def withdrawable(world: World, role: str) -> int:
    return int(gateway.call("SecurityToken", world.offering.token_address, "withdrawableIncomeOf",
                            world.wallets[role]))

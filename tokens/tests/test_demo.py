"""The tokens demo seeder: tokenizes the certified demo CT once, sells the demo investor a
few units (so the cap table has a holder), and skips politely when the chain is not running."""

import io
import socket
from decimal import Decimal

import pytest

from accounts import demo as accounts_demo
from assets import demo as assets_demo
from assets.models import Device, DeviceStatus
from chain import gateway
from chain.models import ChainTransaction
from compliance import demo as compliance_demo
from compliance.selectors import custodial_wallet
from tokens import ledger
from tokens.demo import DEMO_ORDER_UNITS, seed_demo_offering
from tokens.models import Offering, OfferingStatus, Order, OrderStatus

pytestmark = pytest.mark.django_db


def _seed_prerequisites():
    accounts_demo.seed(io.StringIO())
    assets_demo.seed(io.StringIO())


def test_skips_when_the_chain_is_unreachable(settings):
    _seed_prerequisites()
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        settings.CHAIN_RPC_URL = f"http://127.0.0.1:{s.getsockname()[1]}"
    out = io.StringIO()
    seed_demo_offering(out)
    assert "the chain is not running yet" in out.getvalue()
    assert not Offering.objects.exists() and not ChainTransaction.objects.exists()


@pytest.mark.chain
def test_tokenizes_the_demo_ct_once(chain_ready):
    _seed_prerequisites()
    compliance_demo.seed(io.StringIO())
    out = io.StringIO()
    seed_demo_offering(out)
    offering = Offering.objects.get()
    assert offering.status == OfferingStatus.LIVE, offering.error
    assert offering.device.serial_number == assets_demo.CT_SERIAL
    assert f"is Live at {offering.token_address}" in out.getvalue()
    # No usage seeded here, so no yield to project: a second person (the compliance officer, not
    # the admin who priced it) accepted the exception in writing before the token was deployed.
    assert offering.pricing_accepted_by.email == "compliance@demo.medrwa.local" and offering.pricing_reason
    assert Device.objects.get(serial_number=assets_demo.CT_SERIAL).status == DeviceStatus.TOKENIZED
    order = Order.objects.get()
    assert order.status == OrderStatus.COMPLETED and order.units == DEMO_ORDER_UNITS, order.error
    wallet = custodial_wallet(user=order.investor).address
    assert gateway.call("SecurityToken", offering.token_address, "balanceOf", wallet) == DEMO_ORDER_UNITS
    assert [h["units"] for h in ledger.cap_table(offering=offering)["holders"]] == [DEMO_ORDER_UNITS]
    assert "demo investor bought 10" in out.getvalue()
    txs = ChainTransaction.objects.count()

    again = io.StringIO()
    seed_demo_offering(again)
    assert Offering.objects.count() == 1 and ChainTransaction.objects.count() == txs and Order.objects.count() == 1
    assert again.getvalue() == ""


@pytest.mark.chain
def test_the_demo_shows_a_distributed_month_seeded_through_the_real_path(chain_ready, tmp_path, settings):
    from telemetry import demo as telemetry_demo
    from tokens.models import Distribution

    settings.VAR_DIR = tmp_path  # the demo agent's spool goes under the test's own directory
    _seed_prerequisites()
    compliance_demo.seed(io.StringIO())
    telemetry_demo.seed(io.StringIO())  # back-fills from the first day of the previous month
    out = io.StringIO()
    seed_demo_offering(out)
    d = Distribution.objects.get()
    assert d.status == "distributed", (d.status, d.error, out.getvalue())
    assert d.period.procedures > 0 and d.holders_amount > 0 and d.payment_method == "card"
    assert f"/verify/distributions/{d.public_id}/" in out.getvalue()
    (holding,) = ledger.investor_holdings(user=Order.objects.get().investor)
    # The demo investor's 10 of 1,000 units earn 1 % of the holders' pool, not the pool.
    assert d.units_total == 1000 and holding.units == DEMO_ORDER_UNITS
    share = Decimal(holding.accrued).scaleb(-d.stablecoin_decimals)
    assert abs(share - d.holders_amount * DEMO_ORDER_UNITS / 1000) < Decimal("0.000001")
    # Priced at the signed appraisal, with terms that pay a plausible yield at full subscription.
    offering = d.offering
    appraised = offering.device.appraisals.get(status="signed").reconciled_value
    assert abs(offering.units * offering.price_per_unit / appraised - 1) < Decimal("0.01")
    again = io.StringIO()
    seed_demo_offering(again)
    assert Distribution.objects.count() == 1

"""The market page's price history (tokens.market.charts): each confirmed purchase on the board at
its price per unit, oldest first, with the offering price as the reference line; the table under
the chart repeats the figures. No chain node: fills are recorded as the market services leave them."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from chain.models import ChainTransaction
from tokens.market import charts
from tokens.models import MarketOffer, MarketTransfer
from tokens.tests.factories import make_investor, make_live_offering

pytestmark = pytest.mark.django_db
D = Decimal
T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def offering(db):
    return make_live_offering()  # VIDA at 250.00 USD a unit


def _offer(offering, seller, price_base_units: int, decimals: int = 6) -> MarketOffer:
    return MarketOffer.objects.create(
        offering=offering, seller=seller, seller_wallet="0x" + "ab" * 20, status="open", units=50,
        units_remaining=50, price_per_unit_base_units=price_base_units, stablecoin_decimals=decimals,
        expires_at=timezone.now() + dt.timedelta(days=1), board_address="0x" + "be" * 20)


def _fill(offer, buyer, units: int, *, at: dt.datetime, status="confirmed", custodial=True,
          kind=MarketTransfer.Kind.FILL) -> MarketTransfer:
    """A fill as the services leave it: custodial ones through an outbox row confirmed at `at`,
    browser-signed ones marked confirmed (updated) at `at`."""
    tx = None
    if custodial:
        tx = ChainTransaction.objects.create(idempotency_key=f"t-fill:{offer.pk}:{units}:{at.isoformat()}",
                                             kind="tokens.market_take", contract_name="Settlement", function="take",
                                             status="confirmed", confirmed_at=at)
    t = MarketTransfer.objects.create(
        kind=kind, status=status, offering=offer.offering, offer=offer if kind == MarketTransfer.Kind.FILL else None,
        actor=buyer, counterparty=offer.seller, from_wallet=offer.seller_wallet, to_wallet="0x" + "cd" * 20,
        units=units, self_custody=not custodial, chain_tx=tx,
        price_per_unit_base_units=offer.price_per_unit_base_units if kind == MarketTransfer.Kind.FILL else None)
    # The row was recorded later than the chain confirmed it (the outbox hook runs after): the
    # confirmation is the trade's time. A browser-signed fill has only its own update.
    MarketTransfer.objects.filter(pk=t.pk).update(updated_at=at + dt.timedelta(hours=5) if custodial else at)
    return t


@pytest.fixture
def trades(offering):
    seller, buyer = make_investor(status="none"), make_investor(status="none")
    cheap, dear = _offer(offering, seller, 240_000_000), _offer(offering, seller, 262_500_000)
    _fill(dear, buyer, 3, at=T0 + dt.timedelta(days=2))
    _fill(cheap, buyer, 5, at=T0)
    _fill(dear, buyer, 2, at=T0 + dt.timedelta(days=1), custodial=False)  # browser-signed
    _fill(cheap, buyer, 9, at=T0 + dt.timedelta(hours=1), status="pending")  # not settled: no trade
    _fill(cheap, buyer, 9, at=T0 + dt.timedelta(hours=2), status="failed")
    _fill(cheap, buyer, 4, at=T0 + dt.timedelta(hours=3), kind=MarketTransfer.Kind.TRANSFER)  # a gift: no price
    return offering


def test_price_history_is_the_confirmed_fills_in_time_order_with_the_offering_price(trades):
    chart = charts.price_history(offering=trades)
    assert chart["prices"] == [D("240"), D("262.5"), D("262.5")]
    assert chart["units"] == [5, 2, 3]
    assert chart["at"] == [T0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2)]
    assert chart["labels"] == ["2026-03-02 09:30", "2026-03-03 09:30", "2026-03-04 09:30"]  # UTC here
    assert chart["reference"] == [D("250.00")] * 3 and chart["reference_drawn"]
    assert (chart["symbol"], chart["currency"], chart["offering_price"]) == ("VIDA", "USD", D("250.00"))


def test_price_history_reads_each_offer_s_stablecoin_decimals(offering):
    seller, buyer = make_investor(status="none"), make_investor(status="none")
    _fill(_offer(offering, seller, 2_500, decimals=2), buyer, 1, at=T0)  # 25.00 at 2 decimals
    assert charts.price_history(offering=offering)["prices"] == [D("25.00")]


def test_an_offering_priced_in_another_currency_draws_no_reference_line(db):
    euro = make_live_offering(currency="EUR")
    seller, buyer = make_investor(status="none"), make_investor(status="none")
    _fill(_offer(euro, seller, 240_000_000), buyer, 1, at=T0)
    chart = charts.price_history(offering=euro)
    assert chart["prices"] == [D("240")] and chart["reference"] == [] and not chart["reference_drawn"]


def test_price_charts_one_per_token_in_the_given_order(trades):
    quiet = make_live_offering(token_symbol="AAA")
    out = charts.price_charts(offerings=[quiet, trades])
    assert [(c["symbol"], len(c["prices"])) for c in out] == [("AAA", 0), ("VIDA", 3)]
    assert out[0]["labels"] == out[0]["reference"] == []


def test_market_page_shows_the_price_history_with_its_table(client, investor, trades):
    client.force_login(investor)
    page = client.get(reverse("tokens:market")).content.decode()
    table = re.search(r'<table[^>]*data-testid="price-table-VIDA".*?</table>', page, re.S).group(0)
    assert "<caption>Trades of VIDA; offering price 250.00 USD per unit</caption>" in table
    rows = [[" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)]
    assert rows == [["2026-03-02 09:30 UTC", "5", "240.00"], ["2026-03-03 09:30 UTC", "2", "262.50"],
                    ["2026-03-04 09:30 UTC", "3", "262.50"]]
    data = json.loads(re.search(rf'<script id="prices-{trades.pk}" type="application/json">(.*?)</script>',
                                page, re.S).group(1))
    assert [D(p) for p in data["prices"]] == [D("240"), D("262.5"), D("262.5")] and data["reference"] == ["250.00"] * 3
    assert f'aria-describedby="prices-{trades.pk}-table"' in page and "js/price_chart.js" in page


def test_market_page_for_a_token_that_never_traded_says_so(client, investor, offering):
    client.force_login(investor)
    page = client.get(reverse("tokens:market")).content.decode()
    assert "VIDA has not traded on the board yet; its offering price is 250.00 USD per unit." in page
    assert 'class="price-chart"' not in page and "price-table-VIDA" not in page


def test_market_page_without_any_live_token_says_so(client, investor):
    client.force_login(investor)
    page = client.get(reverse("tokens:market")).content.decode()
    assert "No token is live yet: there is no price history." in page and "js/price_chart.js" not in page

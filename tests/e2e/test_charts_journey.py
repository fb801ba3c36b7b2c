"""The charts in the browser (vendored Chart.js, no CDN): the clinic's statements page and the buy
page draw revenue per month per device, the market page the price history with the offering
price; each chart holds the figures of its table. Every page load is audited by axe-core (the
`page` fixture). No chain: statements and fills are recorded as the services leave them."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from tokens.models import Distribution, DistributionStatus
from tokens.tests.factories import clinic_admin_of, make_investor, make_live_offering
from tokens.tests.test_distribution_views import index_mint, open_distribution
from tokens.tests.test_market_charts import T0, _fill, _offer
from tokens.tests.test_revenue_charts import adjust

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DATASETS = """canvas => Chart.getChart(canvas).data.datasets.map(d => [d.label, d.data])"""


def test_statements_buy_and_market_pages_draw_their_charts(page, login, investor):
    offering = make_live_offering()
    index_mint(offering, 250)
    jan = open_distribution(offering, month=1, gross="10000.00")
    adjust(jan, "2000.00")
    open_distribution(offering, month=2, gross="5000.00")
    Distribution.objects.filter(offering=offering).update(status=DistributionStatus.AWAITING_PAYMENT)
    seller, buyer = make_investor(status="none"), make_investor(status="none")
    _fill(_offer(offering, seller, 240_000_000), buyer, 5, at=T0)
    _fill(_offer(offering, seller, 262_500_000), buyer, 2, at=T0 + dt.timedelta(days=1))

    login(clinic_admin_of(offering.device).email, PASSWORD)
    page.goto("/distributions/")
    canvas = page.locator(f"#revenue-{offering.pk}-chart")
    expect(canvas).to_be_visible()
    page.wait_for_function("c => window.Chart && Chart.getChart(c)", arg=canvas.element_handle())
    assert canvas.evaluate(DATASETS) == [
        ["Gross revenue", [12000, 5000]], ["Holders' pool (all units)", [3600, 1500]],
        ["Investors' part", [900, 375]], ["Clinic's part", [9900, 4125]]]
    page.get_by_text("Revenue per month of VIDA as a table").click()
    table = page.get_by_role("table", name="Revenue per month of VIDA")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table.get_by_role("row").nth(1)).to_contain_text("12,000.00 USD")
    page.get_by_role("button", name="Log out").click()

    login(investor.email, PASSWORD)
    page.goto(f"/invest/{offering.pk}/")
    canvas = page.locator(f"#revenue-{offering.pk}-chart")
    page.wait_for_function("c => window.Chart && Chart.getChart(c)", arg=canvas.element_handle())
    assert canvas.evaluate(DATASETS)[0] == ["Gross revenue", [12000, 5000]]

    page.goto("/market/")
    canvas = page.locator(f"#prices-{offering.pk}-chart")
    page.wait_for_function("c => window.Chart && Chart.getChart(c)", arg=canvas.element_handle())
    assert canvas.evaluate(DATASETS) == [["Trade price per unit", [240, 262.5]], ["Offering price", [250, 250]]]
    page.get_by_text("Trades of VIDA as a table").click()
    expect(page.get_by_role("table", name="Trades of VIDA; offering price 250.00 USD per unit")
           .get_by_role("row")).to_have_count(3)

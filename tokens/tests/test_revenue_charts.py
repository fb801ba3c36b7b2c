"""Revenue per month per device (tokens.distributions.charts) and where people read it: the buy page
investors see, the offering page and the clinic's statements. The series come from the statements
(distributions) opened by the real period-closed hook; the tables under the charts repeat them."""

import json
import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from telemetry.models import RevenuePeriod, RevenuePeriodKind
from tokens.distributions import charts
from tokens.distributions import services as distributions
from tokens.models import Distribution, DistributionStatus
from tokens.tests.factories import clinic_admin_of, make_live_offering
from tokens.tests.test_distribution_views import index_mint, open_distribution

pytestmark = pytest.mark.django_db
D = Decimal


def adjust(d: Distribution, difference: str) -> Distribution:
    """A correction of `d`'s month: an adjustment period holding only the difference."""
    original = d.period
    period = RevenuePeriod.objects.create(
        device=original.device, period_start=original.period_start, period_end=original.period_end,
        kind=RevenuePeriodKind.ADJUSTMENT, adjusts=original, reason="A late procedure", procedures=8,
        procedure_amount=D(difference), amount=D(difference), currency="USD",
        lines=[{"kind": "procedure", "cpt": "70553", "count": 8, "amount": difference, "explanation": "late"}])
    with transaction.atomic():
        return distributions.on_period_closed(period)


@pytest.fixture
def offering(db):
    o = make_live_offering()
    index_mint(o, 250)  # investors hold 250 of the 1,000 units: the clinic keeps the pool's part of 750
    return o


@pytest.fixture
def history(offering):
    """January (10,000 gross) corrected by +2,000, February 5,000, March withdrawn (the clinic's
    dispute upheld), April an old row without the investors'/retained split."""
    jan = open_distribution(offering, month=1, gross="10000.00")
    adj = adjust(jan, "2000.00")
    feb = open_distribution(offering, month=2, gross="5000.00")
    mar = open_distribution(offering, month=3, gross="7000.00")
    Distribution.objects.filter(pk=mar.pk).update(status=DistributionStatus.WITHDRAWN)
    apr = open_distribution(offering, month=4, gross="1000.00")
    Distribution.objects.filter(pk=apr.pk).update(units_total=None, units_outstanding=None, investors_amount=None,
                                                  retained_amount=None)
    return {"jan": jan, "adj": adj, "feb": feb, "mar": mar, "apr": apr}


# Terms: fee 5 %, reserve 5 %, clinic 60 %, holders' pool 30 % of gross; investors hold 1/4 of the units.
EXPECTED = {
    "labels": ["2026-01", "2026-02", "2026-04"],
    "gross": [D("12000.00"), D("5000.00"), D("1000.00")],
    "holders": [D("3600.00"), D("1500.00"), D("300.00")],
    "investors": [D("900.00"), D("375.00"), D("300.00")],  # April: an old row, the whole pool the investors'
    "clinic_share": [D("7200.00"), D("3000.00"), D("600.00")],
    "retained": [D("2700.00"), D("1125.00"), D("0.00")],
    "clinic": [D("9900.00"), D("4125.00"), D("600.00")],  # operating share + the part of unsold units
    "adjusted": [True, False, False],
}


def test_revenue_by_month_folds_adjustments_and_leaves_withdrawn_statements_out(offering, history):
    # The statements themselves, as the waterfall made them:
    assert (history["jan"].gross, history["jan"].investors_amount, history["jan"].retained_amount) == (
        D("10000.00"), D("750.00"), D("2250.00"))
    assert (history["adj"].gross, history["adj"].holders_amount, history["adj"].investors_amount) == (
        D("2000.00"), D("600.00"), D("150.00"))
    chart = charts.revenue_by_month(offering=offering)
    assert {k: chart[k] for k in EXPECTED} == EXPECTED
    assert (chart["symbol"], chart["currency"], chart["id"]) == ("VIDA", "USD", f"revenue-{offering.pk}")
    # Every month: the holders' pool is the investors' part plus what the clinic keeps of it.
    assert [i + r for i, r in zip(chart["investors"], chart["retained"], strict=True)] == chart["holders"]


def test_revenue_by_month_is_empty_for_a_device_without_statements(offering):
    chart = charts.revenue_by_month(offering=offering)
    assert chart["labels"] == chart["gross"] == chart["clinic"] == []


def test_revenue_charts_one_per_device_for_what_the_reader_may_see(offering, history):
    other = make_live_offering(token_symbol="AAA")
    open_distribution(other, month=2, gross="100.00")
    everyone = charts.revenue_charts(distributions=Distribution.objects.all())
    assert [(c["symbol"], c["labels"]) for c in everyone] == [("AAA", ["2026-02"]), ("VIDA", EXPECTED["labels"])]
    assert everyone[0]["gross"] == [D("100.00")] and everyone[0]["investors"] == [D("0.00")]  # nobody holds AAA
    assert everyone[0]["clinic"] == [D("90.00")]  # 60 + the whole pool's 30: no unit of AAA was sold
    mine = charts.revenue_charts(distributions=Distribution.objects.filter(offering=offering))
    assert [c["symbol"] for c in mine] == ["VIDA"]


def _table_rows(page: str, testid: str) -> list[list[str]]:
    table = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', page, re.S)
    assert table, f"no table {testid}"
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(0), re.S).group(1)
    cells = r"<t[hd][^>]*>(.*?)</t[hd]>"
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(cells, row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


TABLE = [
    ["2026-01 (with corrections)", "12,000.00 USD", "3,600.00 USD", "900.00 USD", "9,900.00 USD"],
    ["2026-02", "5,000.00 USD", "1,500.00 USD", "375.00 USD", "4,125.00 USD"],
    ["2026-04", "1,000.00 USD", "300.00 USD", "300.00 USD", "600.00 USD"],
]


def _chart_data(page: str, offering) -> dict:
    script = re.search(rf'<script id="revenue-{offering.pk}" type="application/json">(.*?)</script>', page, re.S)
    assert script, "no chart data"
    return json.loads(script.group(1))


def test_buy_page_charts_revenue_per_month_with_its_table(client, approved_investor, offering, history):
    client.force_login(approved_investor)
    page = client.get(reverse("tokens:invest-buy", args=[offering.pk])).content.decode()
    assert _table_rows(page, "revenue-table-VIDA") == TABLE
    assert "<caption>Revenue per month of VIDA" in page and f'aria-describedby="revenue-{offering.pk}-table"' in page
    data = _chart_data(page, offering)
    assert data["labels"] == EXPECTED["labels"]
    assert data["gross"] == ["12000.00", "5000.00", "1000.00"] and data["clinic"] == ["9900.00", "4125.00", "600.00"]
    assert "js/revenue_chart.js" in page and "vendor/chart.umd.min.js" in page


def test_buy_and_offering_pages_without_history_say_so(client, approved_investor, platform_admin, offering):
    client.force_login(approved_investor)
    page = client.get(reverse("tokens:invest-buy", args=[offering.pk])).content.decode()
    assert 'data-testid="revenue-chart-empty"' in page and "No closed month yet: there is no revenue to chart." in page
    assert 'class="revenue-chart"' not in page and "js/revenue_chart.js" not in page
    client.force_login(platform_admin)
    page = client.get(reverse("tokens:offering-detail", args=[offering.pk])).content.decode()
    assert "No closed month yet: there is no revenue to chart." in page


def test_offering_page_charts_the_device_revenue(client, platform_admin, offering, history):
    client.force_login(platform_admin)
    page = client.get(reverse("tokens:offering-detail", args=[offering.pk])).content.decode()
    assert _table_rows(page, "revenue-table-VIDA") == TABLE


def test_statements_page_charts_each_device_of_the_clinic_only(client, offering, history):
    other = make_live_offering(token_symbol="OTHR")
    open_distribution(other, month=1, gross="100.00")
    clinic = clinic_admin_of(offering.device)
    client.force_login(clinic)
    page = client.get(reverse("tokens:distribution-list")).content.decode()
    assert _table_rows(page, "revenue-table-VIDA") == TABLE
    assert _chart_data(page, offering)["investors"] == ["900.00", "375.00", "300.00"]
    assert "revenue-table-OTHR" not in page  # another clinic's device
    # The status filter narrows the list, not the chart: the months are still all there.
    page = client.get(reverse("tokens:distribution-list"), {"status": "withdrawn"}).content.decode()
    assert _table_rows(page, "revenue-table-VIDA") == TABLE


def test_statements_page_without_statements_says_so(client, offering):
    client.force_login(clinic_admin_of(offering.device))
    page = client.get(reverse("tokens:distribution-list")).content.decode()
    assert "No closed month yet: there is no revenue to chart." in page and "js/revenue_chart.js" not in page


def test_statements_page_in_chinese_formats_the_table(client, offering, history):
    clinic = clinic_admin_of(offering.device)
    clinic.language = "zh-hans"
    clinic.save(update_fields=["language"])
    client.force_login(clinic)
    page = client.get(reverse("tokens:distribution-list")).content.decode()
    assert '<html lang="zh-Hans"' in page
    rows = _table_rows(page, "revenue-table-VIDA")
    assert [r[1:] for r in rows] == [r[1:] for r in TABLE] and rows[0][0].startswith("2026-01")


def test_statements_list_query_count_stays_bounded_with_charts(client, platform_admin, django_assert_max_num_queries):
    for month in (1, 2):
        for _ in range(3):
            open_distribution(make_live_offering(), month=month)
    client.force_login(platform_admin)
    with django_assert_max_num_queries(8):  # as without the charts (test_distribution_views): one query for all
        resp = client.get(reverse("tokens:distribution-list"))
    assert resp.content.decode().count('class="revenue-chart"') == 6

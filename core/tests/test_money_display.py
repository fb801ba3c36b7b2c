"""Money as people read it (issue 18): amounts kept in base units are shown in currency through
one filter, prices with the language's separators, and no template shows base units."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from core.money import format_base_units, unit_price_text

# Where a page still names base units, and why.
BASE_UNITS_SHOWN = {
    "templates/tokens/public/distribution_verify.html": "the public proof page: a verifier compares the deposit's "
                                                        "on-chain integer and the entitlement formula works in them",
}


def _render(source: str, **context) -> str:
    return Template("{% load medrwa %}" + source).render(Context(context))


@pytest.mark.parametrize(("base_units", "decimals", "shown"), [
    (48551310000, 6, "48,551.31 USD"),
    ("525000000", 6, "525.00 USD"),
    ("1500000", None, "1.50 USD"),  # the stablecoin's 6 decimals when the record has none
    (0, 6, "0.00 USD"),
    ("12345", 2, "123.45 USD"),
    (10**21, 18, "1,000.00 USD"),
])
def test_base_units_money_shows_currency(base_units, decimals, shown):
    assert _render("{{ v|base_units_money:d }}", v=base_units, d=decimals) == shown
    assert format_base_units(base_units, decimals) == shown


def test_base_units_money_without_an_amount_or_with_nonsense():
    assert _render("{{ v|base_units_money }}", v="") == "—"
    assert _render("{{ v|base_units_money }}", v=None) == "—"
    assert _render("{{ v|base_units_money:6 }}", v="12abc") == "—"


def test_amounts_follow_the_language():
    with translation.override("zh-hans"):
        assert _render("{{ v|base_units_money:6 }}", v=48551310000) == "48,551.31 USD"
        assert unit_price_text(Decimal("3500")) == "3,500.00"
    with translation.override("de"):  # a language with other separators, when one is offered
        assert format_base_units(48551310000, 6) in {"48.551,31 USD", "48,551.31 USD"}


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("2.500000"), "2.50"), (Decimal("2.123456"), "2.123456"), (Decimal("3500"), "3,500.00"),
    ("1234567.5", "1,234,567.50"), (Decimal("1E+3"), "1,000.00"), (None, ""), ("NaN", "NaN"),
])
def test_unit_prices_keep_their_precision_and_group_thousands(value, shown):
    assert unit_price_text(value) == shown


def test_no_template_shows_base_units_to_people():
    """A `…base_units` value printed without base_units_money, or the words "base units" in a
    page's text, fails (BASE_UNITS_SHOWN says where and why it is still allowed)."""
    printed = re.compile(r"\{\{\s*[\w.]*base_units[\w.]*\s*(?:\|(?!\s*base_units_money)[^}]*)?\}\}")
    offenders = {}
    for path in sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html")):
        name = str(path.relative_to(settings.BASE_DIR))
        if name in BASE_UNITS_SHOWN:
            continue
        source = path.read_text(encoding="utf-8")
        found = printed.findall(source) + re.findall(r"(?i)[^\"'<>{}]*\bbase units\b[^\"'<>{}]*", source)
        if found:
            offenders[name] = found[:3]
    assert offenders == {}, f"show amounts with |base_units_money (core.templatetags.medrwa): {offenders}"
    for name in BASE_UNITS_SHOWN:
        assert (Path(settings.BASE_DIR) / name).exists(), f"stale BASE_UNITS_SHOWN entry {name}"

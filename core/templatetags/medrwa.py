"""Presentation filters shared by every app's templates: money (also from base units), timestamps, enum
words."""

from decimal import Decimal, InvalidOperation

import pycountry
from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

from core.money import CURRENCY_EXPONENTS, format_base_units, format_money
from core.timefmt import abbreviation

register = template.Library()


@register.filter
def money(amount, currency="USD"):
    """`{{ amount|money:currency }}` → "1,250,000.00 USD"; "—" when there is no amount."""
    if amount is None or amount == "":
        return "—"
    currency = str(currency or "USD").upper()
    try:
        if currency in CURRENCY_EXPONENTS:
            return format_money(amount, currency)
        return f"{Decimal(str(amount)):,} {currency}"
    except (InvalidOperation, TypeError, ValueError):
        return f"{amount} {currency}"


@register.filter
def base_units_money(base_units, decimals=None):
    """`{{ claim.amount_base_units|base_units_money:d.stablecoin_decimals }}` → "48,551.31 USD": a
    stablecoin amount held in base units, as money (core.money.format_base_units). decimals: the
    token's, from the record where it has them; the stablecoin's 6 when not given. "—" when
    there is no amount. Base units themselves are never shown to people."""
    if base_units is None or base_units == "":
        return "—"
    try:
        return format_base_units(base_units, None if decimals in (None, "") else int(decimals))
    except (TypeError, ValueError):
        return "—"


@register.filter
def when(value, fmt="Y-m-d H:i"):
    """A timestamp in the viewer's time zone (activated per request by
    core.timefmt.UserTimeZoneMiddleware), always with the zone named ("2026-11-29 07:24 CET")."""
    if not value:
        return "—"
    if timezone.is_aware(value):
        value = timezone.localtime(value)
        return f"{date_format(value, fmt)} {abbreviation(value)}".strip()
    return f"{date_format(value, fmt)} {date_format(value, 'T')}".strip()


@register.filter
def words(value):
    """An enum or action code as words: "changes_requested" → "Changes requested"."""
    if value is None or value == "":
        return ""
    text = str(value).rsplit(".", 1)[-1].replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _show(v):
    if v is None or v == "":
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return ", ".join(_show(x) for x in v) or "—"
    return str(v)


@register.filter
def changes(event):
    """The fields an audit event changed, as (field, before, after) rows without Python reprs."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    rows = []
    for key in list(dict.fromkeys([*before, *after])):
        b, a = before.get(key), after.get(key)
        if key in before and key in after and b == a:
            continue
        rows.append((key.replace("_", " "), _show(b) if key in before else None, _show(a) if key in after else None))
    return rows


@register.filter
def kv(mapping):
    """A dict (e.g. decoded event arguments) as (key, value) pairs with readable values."""
    if not isinstance(mapping, dict):
        return [("", _show(mapping))]
    return [(str(k).lstrip("_"), _show(v)) for k, v in mapping.items()]


@register.filter
def country_names(codes):
    """ISO 3166-1 numeric codes (e.g. [250, 840]) as names, keeping the code for officers."""
    names = []
    for code in codes or []:
        c = pycountry.countries.get(numeric=f"{int(code):03d}")
        names.append(f"{c.name} ({int(code):03d})" if c else str(code))
    return ", ".join(names)


@register.filter
def series_rows(chart, keys):
    """A chart's parallel series as table rows, so each chart ships a data table alternative:
    `{% for day, n in chart|series_rows:"labels,procedures" %}`."""
    if not isinstance(chart, dict):
        return []
    columns = [chart.get(k.strip()) or [] for k in str(keys).split(",")]
    return list(zip(*columns, strict=False))

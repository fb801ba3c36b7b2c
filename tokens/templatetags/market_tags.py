"""The market's portfolio valuation for pages outside the market (My investments)."""

from django import template

register = template.Library()


@register.simple_tag
def market_portfolio(user) -> dict:
    """Holdings valued at each token's last trade on the board, with the offering price beside."""
    from tokens.market import portfolio

    return portfolio(user=user)


@register.filter
def usd_price(value) -> str:
    """A stablecoin price per unit: at least cents, up to the stablecoin's decimals, no
    trailing zeros beyond the cents (2.500000 → 2.50, 2.123456 → 2.123456)."""
    from decimal import Decimal, InvalidOperation

    if value in (None, ""):
        return ""
    try:
        d = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    if d.as_tuple().exponent > -2:
        d = d.quantize(Decimal("0.01"))
    return f"{d:f}"

"""The market's portfolio valuation for pages outside the market (My investments)."""

from django import template

from core.money import unit_price_text
from tokens.market.services import portfolio

register = template.Library()


@register.simple_tag
def market_portfolio(user) -> dict:
    """Holdings valued at each token's last trade on the board, with the offering price beside."""
    return portfolio(user=user)


# A price per unit as the market shows it (core.money.unit_price_text).
register.filter("usd_price", unit_price_text)

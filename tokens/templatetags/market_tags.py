"""The market's portfolio valuation for pages outside the market (My investments)."""

from django import template

register = template.Library()


@register.simple_tag
def market_portfolio(user) -> dict:
    """Holdings valued at each token's last trade on the board, with the offering price beside."""
    from tokens.market import portfolio

    return portfolio(user=user)

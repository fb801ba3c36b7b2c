"""{% offering_revenue offering %}: the waterfall terms and the device's monthly revenue and
distribution history, shown on the offering, buy and investments pages before anyone buys."""

from django import template

from tokens.distributions import income

register = template.Library()


@register.inclusion_tag("tokens/income/_offering_revenue.html")
def offering_revenue(offering, heading_level=2):
    return {"offering": offering, "history": income.offering_history(offering), "h": heading_level}

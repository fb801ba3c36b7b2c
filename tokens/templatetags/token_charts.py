"""{% revenue_chart offering %}: the device's revenue per month as a chart with its data table, on
pages of wings that do not read distributions themselves (the buy page of the primary sale)."""

from django import template

from tokens.distributions.charts import revenue_by_month

register = template.Library()


@register.inclusion_tag("tokens/_chart_revenue.html")
def revenue_chart(offering) -> dict:
    chart = revenue_by_month(offering=offering)
    return {"revenue_charts": [chart] if chart["labels"] else []}

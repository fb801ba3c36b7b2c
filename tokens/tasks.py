"""Thin Celery tasks: call a service."""

from celery import shared_task

from tokens.distributions import services as distributions
from tokens.market import payments as market_payments
from tokens.market import services as market
from tokens.primary import services as orders


@shared_task(ignore_result=True)
def orders_expire_due() -> int:

    return orders.orders_expire_due()


@shared_task(ignore_result=True)
def distributions_tick() -> None:
    """Statements past their window are deemed confirmed; paid ones waiting for treasury
    funds (or the node) are deposited once they can be."""

    distributions.distributions_confirm_overdue()
    distributions.distributions_fund_waiting()


@shared_task(ignore_result=True)
def market_tick() -> None:
    """Open offers past their expiry are marked expired and their sellers told once; lapsed
    card reservations are released; paid card purchases waiting for treasury funds settle."""

    market.offers_expire_due()
    market_payments.card_purchases_tick()

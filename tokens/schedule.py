"""The tokens app's periodic tasks (Celery beat)."""

SCHEDULE = {
    "tokens-orders-expire": {"task": "tokens.tasks.orders_expire_due", "schedule": 60.0},
    "tokens-distributions": {"task": "tokens.tasks.distributions_tick", "schedule": 60.0},
    "tokens-market": {"task": "tokens.tasks.market_tick", "schedule": 60.0},
}

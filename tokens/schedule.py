SCHEDULE = {
    "tokens-orders-expire": {"task": "tokens.tasks.orders_expire_due", "schedule": 60.0},
}

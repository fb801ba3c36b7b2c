"""Payments: card checkouts through Stripe or the local simulator, webhook events and refunds."""

"""Checkout sessions and the webhook events received for them. Amounts are Decimal with
their currency; minor units exist only inside stripe_api."""

from django.conf import settings
from django.db import models

from core.models import BaseModel
from core.money import CURRENCIES


class Payment(BaseModel):
    """One checkout session opened for a caller's object (`client_reference_id`)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    session_id = models.CharField(max_length=255, unique=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    client_reference_id = models.CharField(max_length=200, db_index=True)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    description = models.CharField(max_length=250)
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    amount_received = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    checkout_url = models.URLField(max_length=1000)
    success_url = models.CharField(max_length=1000)
    cancel_url = models.CharField(max_length=1000)
    metadata = models.JSONField(default=dict, blank=True)
    simulated = models.BooleanField(default=False)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Payment {self.session_id} ({self.amount} {self.currency}, {self.status})"


class WebhookEvent(models.Model):
    """A verified provider event. The unique event id makes redelivery harmless."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"

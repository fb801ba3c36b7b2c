"""Checkout sessions and the webhook events received for them. Amounts are Decimal with
their currency; minor units exist only inside stripe_api."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from core.models import BaseModel
from core.money import CURRENCIES, format_money


class Payment(BaseModel):
    """One checkout session opened for a caller's object (`client_reference_id`)."""

    class Status(models.TextChoices):
        OPEN = "open", gettext_lazy("Open")
        PAID = "paid", gettext_lazy("Paid")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")
        EXPIRED = "expired", gettext_lazy("Expired unpaid")
        FAILED = "failed", gettext_lazy("Payment failed")  # a delayed payment method did not go through
        REFUNDED = "refunded", gettext_lazy("Refunded")

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
    # The provider's payment (Stripe PaymentIntent): charge, refund and dispute events name it.
    payment_intent = models.CharField(max_length=255, blank=True, db_index=True)
    amount_refunded = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    refunded_at = models.DateTimeField(null=True, blank=True)
    dispute_id = models.CharField(max_length=255, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Payment {self.session_id} ({format_money(self.amount, self.currency)}, {self.status})"


class Refund(BaseModel):
    """Money sent back for a payment, through the provider (idempotent on our key): requested
    → submitted (the provider accepted it) → succeeded (its `charge.refunded` event) | failed."""

    class Status(models.TextChoices):
        REQUESTED = "requested", gettext_lazy("Requested")
        SUBMITTED = "submitted", gettext_lazy("Submitted to the provider")
        SUCCEEDED = "succeeded", gettext_lazy("Refunded")
        FAILED = "failed", gettext_lazy("Failed")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    idempotency_key = models.CharField(max_length=200, unique=True)
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    reason = models.TextField()
    # Who asked for it, as the caller names its object (the payment's own reference by default).
    reference = models.CharField(max_length=200, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    provider_refund_id = models.CharField(max_length=255, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_refund_positive")]

    def __str__(self) -> str:
        return f"Refund {format_money(self.amount, self.currency)} of {self.payment.session_id} ({self.status})"


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

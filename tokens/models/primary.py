"""The primary sale: orders of units paid by card and minted on chain."""

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy

from core.models import BaseModel
from core.money import CURRENCIES
from tokens.models.offerings import Offering


class OrderStatus(models.TextChoices):
    RESERVED = "reserved", gettext_lazy("Reserved, awaiting payment")
    PAID = "paid", gettext_lazy("Paid")
    MINTING = "minting", gettext_lazy("Minting tokens")
    COMPLETED = "completed", gettext_lazy("Completed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")
    EXPIRED = "expired", gettext_lazy("Reservation expired")
    FAILED = "failed", gettext_lazy("Failed")
    REFUNDING = "refunding", gettext_lazy("Refund in progress")
    REFUNDED = "refunded", gettext_lazy("Refunded")
    DISPUTED = "disputed", gettext_lazy("Payment disputed, units frozen")


# A payment can still arrive after a reservation lapsed (Stripe sessions live ≥ 30 min):
# it is honoured when the units are still free, otherwise it is refunded. Every paid order
# ends with units (completed) or its money back (refunded); failed = nothing was received.
ORDER_TRANSITIONS = {
    OrderStatus.RESERVED: {OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FAILED,
                           OrderStatus.REFUNDING},
    OrderStatus.CANCELLED: {OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.REFUNDING},
    OrderStatus.EXPIRED: {OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.REFUNDING},
    OrderStatus.PAID: {OrderStatus.MINTING, OrderStatus.FAILED, OrderStatus.REFUNDING, OrderStatus.DISPUTED},
    OrderStatus.MINTING: {OrderStatus.COMPLETED, OrderStatus.FAILED, OrderStatus.REFUNDING, OrderStatus.DISPUTED},
    OrderStatus.COMPLETED: {OrderStatus.DISPUTED},
    OrderStatus.DISPUTED: {OrderStatus.COMPLETED, OrderStatus.REFUNDED},  # a compliance officer decides
    OrderStatus.FAILED: {OrderStatus.REFUNDING},  # a platform admin refunds what was received
    OrderStatus.REFUNDING: {OrderStatus.REFUNDED},
    OrderStatus.REFUNDED: set(),
}


# Orders that hold units of the offering (for supply, per-investor and holder limits).
ORDER_HOLDING_STATUSES = (OrderStatus.RESERVED, OrderStatus.PAID, OrderStatus.MINTING, OrderStatus.COMPLETED,
                          OrderStatus.DISPUTED)


class Order(BaseModel):
    """An investor's purchase of units of a live offering: reserved → paid (checkout
    webhook) → minting (outbox) → completed (receipt) | cancelled | expired | failed, and a
    payment that cannot become units → refunding → refunded (`error` says why)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="token_orders")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="orders")
    units = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)
    total = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.RESERVED,
                              db_index=True)
    wallet = models.CharField(max_length=42)
    reserved_until = models.DateTimeField(db_index=True)
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_url = models.CharField(max_length=1000, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    mint_tx = models.OneToOneField("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    paid_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    amount_received = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    receipt_pdf = models.FileField(upload_to="tokens/receipts/", max_length=255, blank=True)
    receipt_sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(units__gte=1), name="tokens_order_units_positive")]

    def __str__(self) -> str:
        return f"Order {self.public_id.hex[:8]} — {self.units} {self.offering.token_symbol}"

    @property
    def mint_key(self) -> str:
        return f"order:{self.pk}:mint"

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.models import BaseModel
from core.money import CURRENCIES


class OfferingStatus(models.TextChoices):
    DRAFT = "draft", "Awaiting clinic consent"
    CONSENTED = "consented", "Consent recorded"
    DEPLOYING = "deploying", "Deploying token"
    ANCHORING = "anchoring", "Anchoring certificate"
    LIVE = "live", "Live"
    FAILED = "failed", "Failed"


OFFERING_TRANSITIONS = {
    OfferingStatus.DRAFT: {OfferingStatus.CONSENTED},
    OfferingStatus.CONSENTED: {OfferingStatus.DEPLOYING},
    OfferingStatus.DEPLOYING: {OfferingStatus.ANCHORING, OfferingStatus.FAILED},
    OfferingStatus.ANCHORING: {OfferingStatus.LIVE, OfferingStatus.FAILED},
    OfferingStatus.FAILED: {OfferingStatus.DEPLOYING},
    OfferingStatus.LIVE: set(),
}


class Offering(BaseModel):
    """One device's token offering: its terms, the clinic's consent, and the deployed token."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    device = models.OneToOneField("assets.Device", on_delete=models.PROTECT, related_name="offering")
    status = models.CharField(max_length=20, choices=OfferingStatus.choices, default=OfferingStatus.DRAFT,
                              db_index=True)
    token_name = models.CharField(max_length=60)
    token_symbol = models.CharField(max_length=11)
    units = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(10**12)])
    price_per_unit = models.DecimalField(max_digits=14, decimal_places=2,
                                         validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")
    share_offered_pct = models.DecimalField(max_digits=5, decimal_places=2,
                                            validators=[MinValueValidator(0), MaxValueValidator(100)])
    # ISO 3166-1 numeric codes; empty = any country.
    allowed_countries = models.JSONField(default=list, blank=True)
    max_per_investor = models.PositiveIntegerField()
    holder_cap = models.PositiveIntegerField()
    lockup_until = models.DateField(null=True, blank=True)
    revenue_share_pct = models.DecimalField(max_digits=5, decimal_places=2,
                                            validators=[MinValueValidator(0), MaxValueValidator(100)])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    consent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_statement = models.TextField(blank=True)
    # bytes32 the factory and AssetRegistry key on (random per offering: never reused).
    chain_device_id = models.CharField(max_length=66, unique=True)
    chain_id = models.PositiveBigIntegerField(null=True, blank=True)
    token_address = models.CharField(max_length=42, blank=True, db_index=True)
    deploy_attempt = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.token_symbol} — {self.token_name}"

    @property
    def deploy_key(self) -> str:
        return f"tokens.deploy:{self.public_id}:{self.deploy_attempt}"

    @property
    def anchor_key(self) -> str:
        return f"tokens.anchor:{self.public_id}"


class AgentActionKind(models.TextChoices):
    PAUSE = "pause", "Pause all transfers"
    UNPAUSE = "unpause", "Unpause"
    FREEZE = "freeze", "Freeze wallet"
    UNFREEZE = "unfreeze", "Unfreeze wallet"
    FREEZE_PARTIAL = "freeze_partial", "Freeze part of a balance"
    UNFREEZE_PARTIAL = "unfreeze_partial", "Unfreeze part of a balance"
    FORCED_TRANSFER = "forced_transfer", "Forced transfer"
    RECOVER = "recover", "Recover a lost wallet"


class AgentAction(BaseModel):
    """A compliance officer's token action, executed through the chain outbox."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="agent_actions")
    kind = models.CharField(max_length=20, choices=AgentActionKind.choices)
    wallet = models.CharField(max_length=42, blank=True)
    to_wallet = models.CharField(max_length=42, blank=True)
    amount = models.PositiveBigIntegerField(null=True, blank=True)
    reason = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    chain_tx = models.OneToOneField("chain.ChainTransaction", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.offering.token_symbol}"


class OrderStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved, awaiting payment"
    PAID = "paid", "Paid"
    MINTING = "minting", "Minting tokens"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Reservation expired"
    FAILED = "failed", "Failed"


# A payment can still arrive after a reservation lapsed (Stripe sessions live ≥ 30 min):
# it is honoured when the units are still free, otherwise the order fails for a refund.
ORDER_TRANSITIONS = {
    OrderStatus.RESERVED: {OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FAILED},
    OrderStatus.CANCELLED: {OrderStatus.PAID, OrderStatus.FAILED},
    OrderStatus.EXPIRED: {OrderStatus.PAID, OrderStatus.FAILED},
    OrderStatus.PAID: {OrderStatus.MINTING, OrderStatus.FAILED},
    OrderStatus.MINTING: {OrderStatus.COMPLETED, OrderStatus.FAILED},
    OrderStatus.COMPLETED: set(),
    OrderStatus.FAILED: set(),
}
# Orders that hold units of the offering (for supply, per-investor and holder limits).
ORDER_HOLDING_STATUSES = (OrderStatus.RESERVED, OrderStatus.PAID, OrderStatus.MINTING, OrderStatus.COMPLETED)


class Order(BaseModel):
    """An investor's purchase of units of a live offering: reserved → paid (checkout
    webhook) → minting (outbox) → completed (receipt) | cancelled | expired | failed."""

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

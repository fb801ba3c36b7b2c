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

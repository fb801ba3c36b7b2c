"""Offerings: a device's token offering and its lifecycle, officers' token actions,
compliance-parameter changes and compliance holds."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy

from core.models import BaseModel
from core.money import CURRENCIES


class OfferingStatus(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Awaiting clinic consent")
    CONSENTED = "consented", gettext_lazy("Consent recorded")
    DEPLOYING = "deploying", gettext_lazy("Deploying token")
    ANCHORING = "anchoring", gettext_lazy("Anchoring certificate")
    LIVE = "live", gettext_lazy("Live")
    FAILED = "failed", gettext_lazy("Failed")


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
    # The waterfall, fixed at tokenization (tokens.waterfall): shares of gross revenue that add
    # up to 100. `revenue_share_pct` is the holders' share. Once the reserve holds
    # `reserve_target`, its share goes to the holders.
    revenue_share_pct = models.DecimalField(max_digits=5, decimal_places=2,
                                            validators=[MinValueValidator(0), MaxValueValidator(100)])
    platform_fee_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("5.00"),
                                           validators=[MinValueValidator(0), MaxValueValidator(100)])
    reserve_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("5.00"),
                                      validators=[MinValueValidator(0), MaxValueValidator(100)])
    reserve_target = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"),
                                         validators=[MinValueValidator(0)])
    clinic_share_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0.00"),
                                           validators=[MinValueValidator(0), MaxValueValidator(100)])
    # DePIN case: revenue from selling the scanner's idle GPU time counts towards gross.
    includes_compute_revenue = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    consent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_statement = models.TextField(blank=True)
    # bytes32 the factory and AssetRegistry key on (random per offering: never reused).
    chain_device_id = models.CharField(max_length=66, unique=True)
    chain_id = models.PositiveBigIntegerField(null=True, blank=True)
    token_address = models.CharField(max_length=42, blank=True, db_index=True)
    # sha256 of the pinned terms (tokens.waterfall.pinned_terms) the token records at deployment.
    terms_hash = models.CharField(max_length=64, blank=True)
    deploy_attempt = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # Pricing outside the bands (tokens.economics) deploys only once a second person accepts it:
    # who set the current price and terms (the creator, or whoever changed them last; null on
    # rows from before: the creator), and the acceptance — the figures as the acceptor saw
    # them (tokens.economics.PricingCheck.as_json, plus their role), who, when and why.
    # Changing the price, units or terms clears the acceptance.
    pricing_set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    pricing_review = models.JSONField(default=dict, blank=True)
    pricing_accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                            on_delete=models.PROTECT, related_name="+")
    pricing_accepted_at = models.DateTimeField(null=True, blank=True)
    pricing_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.token_symbol} — {self.token_name}"

    @property
    def pricing_author_id(self):
        return self.pricing_set_by_id or self.created_by_id

    @property
    def deploy_key(self) -> str:
        return f"tokens.deploy:{self.public_id}:{self.deploy_attempt}"

    @property
    def anchor_key(self) -> str:
        # Per deploy attempt: a failed anchoring is retried (through "deploy again", which
        # adopts the existing token) under a new key instead of returning the failed row.
        return f"tokens.anchor:{self.public_id}:{self.deploy_attempt}"


class AgentActionKind(models.TextChoices):
    PAUSE = "pause", gettext_lazy("Pause all transfers")
    UNPAUSE = "unpause", gettext_lazy("Unpause")
    FREEZE = "freeze", gettext_lazy("Freeze wallet")
    UNFREEZE = "unfreeze", gettext_lazy("Unfreeze wallet")
    FREEZE_PARTIAL = "freeze_partial", gettext_lazy("Freeze part of a balance")
    UNFREEZE_PARTIAL = "unfreeze_partial", gettext_lazy("Unfreeze part of a balance")
    FORCED_TRANSFER = "forced_transfer", gettext_lazy("Forced transfer")
    RECOVER = "recover", gettext_lazy("Recover a lost wallet")


class AgentActionState(models.TextChoices):
    AWAITING_CONFIRMATION = "awaiting_confirmation", gettext_lazy("Awaiting a second officer")
    SUBMITTED = "submitted", gettext_lazy("Submitted to the chain")
    REJECTED = "rejected", gettext_lazy("Rejected by a second officer")


class AgentAction(BaseModel):
    """A compliance officer's token action, executed through the chain outbox. A forced
    transfer or recovery above AGENT_ACTION_CONFIRM_ABOVE_UNITS waits for a second officer
    (tokens.offerings.agent_confirmations) and has no chain transaction until then."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="agent_actions")
    kind = models.CharField(max_length=20, choices=AgentActionKind.choices)
    wallet = models.CharField(max_length=42, blank=True)
    to_wallet = models.CharField(max_length=42, blank=True)
    amount = models.PositiveBigIntegerField(null=True, blank=True)
    reason = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    chain_tx = models.OneToOneField("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    state = models.CharField(max_length=25, choices=AgentActionState.choices, default=AgentActionState.SUBMITTED)
    # Units the action moves (forced transfer: the amount; recovery: the lost wallet's balance).
    units = models.PositiveBigIntegerField(null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.offering.token_symbol}"


class ComplianceChange(BaseModel):
    """A compliance officer's change of a live token's compliance parameters and allowed
    countries (tokens.offerings.compliance_params): sent through the outbox; the Offering's stored terms
    follow only once the chain has confirmed every call (chain hook)."""

    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Sent to the chain")
        APPLIED = "applied", gettext_lazy("Applied on chain")
        FAILED = "failed", gettext_lazy("Failed")

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="compliance_changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    supply_cap = models.PositiveBigIntegerField(validators=[MinValueValidator(1)])
    max_per_investor = models.PositiveBigIntegerField(validators=[MinValueValidator(1)])
    holder_cap = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    lockup_until = models.DateField(null=True, blank=True)
    allowed_countries = models.JSONField(default=list, blank=True)
    before = models.JSONField(default=dict, blank=True)  # the stored terms when the change was asked
    # The last outbox row of the chain of calls (params, then countries added, then removed).
    chain_tx = models.ForeignKey("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Compliance change on {self.offering.token_symbol} ({self.status})"


class HoldFreeze(BaseModel):
    """One investor wallet frozen on one token because compliance put the investor on hold
    (an open sanctions hit, a revoked approval). The registry alone only stops a wallet
    receiving; the token's freeze also stops it sending and claiming income (ERC-3643
    `setAddressFrozen`). Released when compliance releases the investor; income accrued
    meanwhile stays on chain until then."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="hold_freezes")
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    wallet = models.CharField(max_length=42)
    cause = models.CharField(max_length=60)  # the compliance decision, e.g. "hit:12", "revoke:7"
    reason = models.TextField()
    freeze_tx = models.ForeignKey("chain.ChainTransaction", on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)
    release_cause = models.CharField(max_length=60, blank=True)
    release_reason = models.TextField(blank=True)
    release_tx = models.ForeignKey("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["offering", "wallet"], condition=models.Q(released_at=None),
                                               name="one_active_hold_freeze_per_wallet_and_token")]

    def __str__(self) -> str:
        return f"Hold freeze of {self.wallet} on {self.offering.token_symbol}"

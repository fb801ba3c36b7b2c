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
    (tokens.agent_confirmations) and has no chain transaction until then."""

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


class DistributionStatus(models.TextChoices):
    AWAITING_CLINIC = "awaiting_clinic", gettext_lazy("Awaiting the clinic's confirmation")
    DISPUTED = "disputed", gettext_lazy("Disputed by the clinic")
    AWAITING_PAYMENT = "awaiting_payment", gettext_lazy("Awaiting the clinic's payment")
    WAITING_FUNDS = "waiting_funds", gettext_lazy("Paid; waiting for treasury funds")
    DEPOSITING = "depositing", gettext_lazy("Depositing on chain")
    DISTRIBUTED = "distributed", gettext_lazy("Distributed to holders")
    NOTHING_DUE = "nothing_due", gettext_lazy("Nothing to distribute")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn (dispute upheld)")
    FAILED = "failed", gettext_lazy("Deposit failed")


DISTRIBUTION_TRANSITIONS = {
    DistributionStatus.AWAITING_CLINIC: {DistributionStatus.AWAITING_PAYMENT, DistributionStatus.DISPUTED},
    DistributionStatus.DISPUTED: {DistributionStatus.AWAITING_PAYMENT, DistributionStatus.WITHDRAWN},
    DistributionStatus.AWAITING_PAYMENT: {DistributionStatus.WAITING_FUNDS, DistributionStatus.DEPOSITING},
    DistributionStatus.WAITING_FUNDS: {DistributionStatus.DEPOSITING},
    DistributionStatus.DEPOSITING: {DistributionStatus.DISTRIBUTED, DistributionStatus.FAILED},
    DistributionStatus.FAILED: {DistributionStatus.WAITING_FUNDS},
    DistributionStatus.DISTRIBUTED: set(),
    DistributionStatus.NOTHING_DUE: set(),
    DistributionStatus.WITHDRAWN: set(),
}


class Distribution(BaseModel):
    """One closed revenue period of a tokenized device on its way to the holders: waterfall →
    clinic confirms (or disputes) → clinic pays → report frozen and hashed → stablecoin
    deposited on chain with the hash (outbox, once) → holders claim."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="distributions")
    period = models.OneToOneField("telemetry.RevenuePeriod", on_delete=models.PROTECT, related_name="distribution")
    status = models.CharField(max_length=20, choices=DistributionStatus.choices,
                              default=DistributionStatus.AWAITING_CLINIC, db_index=True)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")
    # Waterfall (tokens.waterfall.compute): gross and each line, Decimal in `currency`.
    gross = models.DecimalField(max_digits=16, decimal_places=2)
    platform_fee = models.DecimalField(max_digits=16, decimal_places=2)
    reserve = models.DecimalField(max_digits=16, decimal_places=2)
    clinic_share = models.DecimalField(max_digits=16, decimal_places=2)
    holders_amount = models.DecimalField(max_digits=16, decimal_places=2)
    amount_due = models.DecimalField(max_digits=16, decimal_places=2)  # what the clinic pays the platform
    waterfall = models.JSONField(default=dict)  # terms, lines and their explanations, as computed
    confirm_deadline = models.DateTimeField()
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    dispute_reason = models.TextField(blank=True)
    disputed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    disputed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Payment: Stripe Checkout through the payments port, or a bank transfer recorded by an admin.
    payment_method = models.CharField(max_length=10, blank=True)  # "card" | "bank"
    payment_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    payment_reference = models.CharField(max_length=120, blank=True)
    paid_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # A bank transfer is recorded by one platform admin (pending: the reference and amount they
    # read on the bank statement) and confirmed by a second, different one before it counts as
    # paid and the treasury deposits (four-eyes: one person alone cannot release treasury funds).
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(null=True, blank=True)
    bank_reference = models.CharField(max_length=120, blank=True)  # as recorded, awaiting confirmation
    bank_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    bank_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    bank_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The clinic's card payment refunded or charged back after it was received. Its own fields,
    # never `error` (which later waits and failures rewrite): the note stays, and a statement
    # carrying it is never funded.
    payment_reversed_at = models.DateTimeField(null=True, blank=True)
    payment_reversal = models.TextField(blank=True)
    # Frozen report and on-chain deposit. uint256 values are decimal strings: SQLite would
    # store a DecimalField beyond 2^63 as a float and lose the low digits.
    stablecoin_address = models.CharField(max_length=42, blank=True)
    stablecoin_decimals = models.PositiveSmallIntegerField(null=True, blank=True)
    amount_base_units = models.CharField(max_length=80, blank=True)
    report = models.TextField(blank=True)  # canonical JSON bytes (UTF-8) exactly as hashed and published
    # The detailed usage (per-day counts, every CPT x payer cell): for the clinic, platform admins
    # and holders only. The public report carries its SHA-256, so it is bound to the on-chain hash.
    report_detail = models.TextField(blank=True)
    report_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    report_frozen_at = models.DateTimeField(null=True, blank=True)
    deposit_tx = models.OneToOneField("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    deposit_attempt = models.PositiveSmallIntegerField(default=0)
    deposit_block = models.PositiveBigIntegerField(null=True, blank=True)
    points_per_share_after = models.CharField(max_length=80, blank=True)
    dust_magnified_after = models.CharField(max_length=80, blank=True)
    distributed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-period__period_start", "-id"]
        constraints = [
            # One deposit of a token in flight: its report states the accumulator before it, which
            # only holds if no other deposit of the token is mined in between (backs the offering lock).
            models.UniqueConstraint(fields=["offering"], condition=models.Q(status=DistributionStatus.DEPOSITING),
                                    name="tokens_distribution_one_deposit_in_flight"),
        ]

    def __str__(self) -> str:
        return f"Distribution {self.offering.token_symbol} {self.period.period_start:%Y-%m}"

    @property
    def key(self) -> str:
        return f"distribution:{self.public_id}"


class IncomeClaim(BaseModel):
    """Income claimed (custodial: by the platform for the holder; self-custody: the holder's own
    transaction, followed by hash) or withdrawn from a custodial wallet to a linked one."""

    class Kind(models.TextChoices):
        CLAIM = "claim", gettext_lazy("Claim")
        BATCH_CLAIM = "batch_claim", gettext_lazy("Batch claim")
        WITHDRAW = "withdraw", gettext_lazy("Withdrawal to own wallet")

    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        CONFIRMED = "confirmed", gettext_lazy("Confirmed")
        FAILED = "failed", gettext_lazy("Failed")

    investor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="income_claims")
    offering = models.ForeignKey(Offering, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="income_claims")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    wallet = models.CharField(max_length=42)
    to_wallet = models.CharField(max_length=42, blank=True)
    self_custody = models.BooleanField(default=False)
    amount_base_units = models.CharField(max_length=80, blank=True)
    tx_hash = models.CharField(max_length=66, blank=True, db_index=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    chain_tx = models.ForeignKey("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tx_hash"], condition=~models.Q(tx_hash=""),
                                               name="tokens_income_claim_tx_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.wallet}"


# --------------------------------------------------------------------------- secondary market


class MarketOfferStatus(models.TextChoices):
    POSTING = "posting", gettext_lazy("Posting")
    OPEN = "open", gettext_lazy("Open")
    FILLED = "filled", gettext_lazy("Filled")
    CANCELLING = "cancelling", gettext_lazy("Cancelling")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")
    FAILED = "failed", gettext_lazy("Failed")
    EXPIRED = "expired", gettext_lazy("Expired")  # past its expiry unfilled (the board refuses takes)


MARKET_OFFER_TRANSITIONS = {
    MarketOfferStatus.POSTING: {MarketOfferStatus.OPEN, MarketOfferStatus.FAILED},
    MarketOfferStatus.OPEN: {MarketOfferStatus.FILLED, MarketOfferStatus.CANCELLING, MarketOfferStatus.CANCELLED,
                             MarketOfferStatus.EXPIRED},
    MarketOfferStatus.EXPIRED: set(),
    MarketOfferStatus.CANCELLING: {MarketOfferStatus.CANCELLED, MarketOfferStatus.OPEN, MarketOfferStatus.FILLED},
    MarketOfferStatus.FILLED: set(),
    MarketOfferStatus.CANCELLED: set(),
    MarketOfferStatus.FAILED: set(),
}


class MarketOffer(BaseModel):
    """A seller's offer on the Settlement board (units of one token at a price per unit in
    stablecoin base units, until an expiry). The chain is the truth: `board_offer_id` and the
    units left are read from the board's events/state; the row is the app's handle on it."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="market_offers")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="market_offers")
    seller_wallet = models.CharField(max_length=42)
    self_custody = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=MarketOfferStatus.choices, default=MarketOfferStatus.POSTING,
                              db_index=True)
    units = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    units_remaining = models.PositiveIntegerField()
    price_per_unit_base_units = models.PositiveBigIntegerField(validators=[MinValueValidator(1)])
    stablecoin_decimals = models.PositiveSmallIntegerField(default=6)
    expires_at = models.DateTimeField()
    board_address = models.CharField(max_length=42)
    board_offer_id = models.PositiveBigIntegerField(null=True, blank=True)
    post_tx = models.ForeignKey("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    cancel_tx = models.ForeignKey("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    tx_hash = models.CharField(max_length=66, blank=True, db_index=True)  # browser-sent post
    cancel_tx_hash = models.CharField(max_length=66, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["board_address", "board_offer_id"], condition=models.Q(
                board_offer_id__isnull=False), name="tokens_market_offer_board_id_unique"),
            models.UniqueConstraint(fields=["tx_hash"], condition=~models.Q(tx_hash=""),
                                    name="tokens_market_offer_tx_unique"),
        ]

    def __str__(self) -> str:
        return f"Offer {self.units_remaining}/{self.units} {self.offering.token_symbol}"

    @property
    def price_per_unit(self) -> Decimal:
        """USD (stablecoin) per unit."""
        return Decimal(self.price_per_unit_base_units).scaleb(-self.stablecoin_decimals)


class MarketTransfer(BaseModel):
    """Units moving between investors: a fill of a board offer (kind=fill, settled atomically
    by the Settlement contract) or a plain transfer (kind=transfer, the token's own transfer)."""

    class Kind(models.TextChoices):
        FILL = "fill", gettext_lazy("Purchase on the board")
        TRANSFER = "transfer", gettext_lazy("Transfer")

    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        CONFIRMED = "confirmed", gettext_lazy("Confirmed")
        FAILED = "failed", gettext_lazy("Failed")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="market_transfers")
    offer = models.ForeignKey(MarketOffer, null=True, blank=True, on_delete=models.PROTECT, related_name="fills")
    # The investor who acts: the buyer of a fill, the sender of a transfer.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="market_transfers")
    counterparty = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    from_wallet = models.CharField(max_length=42)
    to_wallet = models.CharField(max_length=42)
    units = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    price_per_unit_base_units = models.PositiveBigIntegerField(null=True, blank=True)
    paid_base_units = models.CharField(max_length=80, blank=True)
    fee_base_units = models.CharField(max_length=80, blank=True)
    self_custody = models.BooleanField(default=False)
    chain_tx = models.ForeignKey("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    tx_hash = models.CharField(max_length=66, blank=True, db_index=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tx_hash"], condition=~models.Q(tx_hash=""),
                                               name="tokens_market_transfer_tx_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.units} {self.offering.token_symbol}"


class ComplianceChange(BaseModel):
    """A compliance officer's change of a live token's compliance parameters and allowed
    countries (tokens.compliance_params): sent through the outbox; the Offering's stored terms
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


class MarketCardStatus(models.TextChoices):
    RESERVED = "reserved", gettext_lazy("Units reserved, awaiting card payment")
    EXPIRED = "expired", gettext_lazy("Expired unpaid")
    CANCELLED = "cancelled", gettext_lazy("Cancelled by you before paying")
    WAITING_FUNDS = "waiting_funds", gettext_lazy("Paid; waiting for the platform's stablecoin")
    SETTLING = "settling", gettext_lazy("Paid; settling on chain")
    SETTLED = "settled", gettext_lazy("Settled")
    REFUNDING = "refunding", gettext_lazy("Refund under way")
    REFUNDED = "refunded", gettext_lazy("Refunded")
    DISPUTED = "disputed", gettext_lazy("Payment disputed: units frozen until an officer decides")


MARKET_CARD_TRANSITIONS = {
    # A late payment (after the reservation lapsed) is checked again like a timely one.
    MarketCardStatus.RESERVED: {MarketCardStatus.EXPIRED, MarketCardStatus.CANCELLED, MarketCardStatus.WAITING_FUNDS,
                                MarketCardStatus.SETTLING, MarketCardStatus.REFUNDING},
    MarketCardStatus.EXPIRED: {MarketCardStatus.WAITING_FUNDS, MarketCardStatus.SETTLING, MarketCardStatus.REFUNDING},
    # As with a lapsed one: a payment that still lands (the provider's tab was left open) is
    # checked again, and settles only if the units are still there; otherwise it is refunded.
    MarketCardStatus.CANCELLED: {MarketCardStatus.WAITING_FUNDS, MarketCardStatus.SETTLING,
                                 MarketCardStatus.REFUNDING},
    MarketCardStatus.WAITING_FUNDS: {MarketCardStatus.SETTLING, MarketCardStatus.REFUNDING,
                                     MarketCardStatus.DISPUTED},
    MarketCardStatus.SETTLING: {MarketCardStatus.SETTLED, MarketCardStatus.REFUNDING, MarketCardStatus.DISPUTED},
    MarketCardStatus.REFUNDING: {MarketCardStatus.REFUNDED},
    MarketCardStatus.SETTLED: {MarketCardStatus.DISPUTED},
    MarketCardStatus.REFUNDED: set(),
    # A compliance officer decides once the bank has: won → the purchase stands (settled, or
    # settles if it never did); lost → the units still held are burned (the money went back).
    MarketCardStatus.DISPUTED: {MarketCardStatus.SETTLED, MarketCardStatus.WAITING_FUNDS, MarketCardStatus.REFUNDED,
                                MarketCardStatus.REFUNDING},
}


class MarketCardPurchase(BaseModel):
    """A custodial buyer pays for units of a board offer by card (tokens.market_payments):
    units held for the checkout's lifetime → paid webhook → the treasury pays the seller for
    the buyer with `Settlement.takeFor` (units to the buyer's custodial wallet in the same
    transaction), or the card is refunded with the reason. A chargeback freezes the units."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="market_card_purchases")
    offer = models.ForeignKey(MarketOffer, on_delete=models.PROTECT, related_name="card_purchases")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="market_card_purchases")
    wallet = models.CharField(max_length=42)  # the buyer's custodial wallet: receives the units (the treasury pays)
    status = models.CharField(max_length=16, choices=MarketCardStatus.choices, default=MarketCardStatus.RESERVED,
                              db_index=True)
    units = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    price_per_unit_base_units = models.PositiveBigIntegerField(validators=[MinValueValidator(1)])
    stablecoin_address = models.CharField(max_length=42)
    stablecoin_decimals = models.PositiveSmallIntegerField(default=6)
    paid_base_units = models.CharField(max_length=80)  # units x price: what the treasury's takeFor pays
    fee_base_units = models.CharField(max_length=80)  # the seller's fee out of it (shown, not charged)
    credit_base_units = models.CharField(max_length=80)  # the card amount in stablecoin (>= paid)
    amount = models.DecimalField(max_digits=16, decimal_places=2)  # charged by card
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")
    reserved_until = models.DateTimeField()
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_url = models.CharField(max_length=1000, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The treasury's first funding row (the mock stablecoin's mint locally, else its approve).
    credit_tx = models.ForeignKey("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    fill = models.OneToOneField(MarketTransfer, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="card_purchase")
    # A chargeback: the units of this purchase still held, frozen on chain until an officer decides.
    frozen_units = models.PositiveIntegerField(default=0)
    dispute_freeze_tx = models.ForeignKey("chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    error = models.TextField(blank=True)  # why it waits or was refunded, for the buyer
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Card purchase {self.units} {self.offering.token_symbol} ({self.status})"

    @property
    def key(self) -> str:
        return f"market-card:{self.public_id}"


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

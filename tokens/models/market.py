"""The secondary market: board offers, fills and transfers, and card-funded purchases."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy

from core.models import BaseModel
from core.money import CURRENCIES
from tokens.models.offerings import Offering


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
    """A custodial buyer pays for units of a board offer by card (tokens.market.payments):
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

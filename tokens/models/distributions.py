"""Monthly revenue distributions: the clinic's statement, its payment and the deposit with its frozen report."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from core.models import BaseModel
from core.money import CURRENCIES
from tokens.models.offerings import Offering


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
    # The holders' pool as the terms define it, for all N units of the device. Each unit earns
    # pool / N whoever holds it; the clinic is billed only for the units investors held when the
    # statement was made (`investors_amount`) and keeps the part of unsold units (`retained`).
    holders_amount = models.DecimalField(max_digits=16, decimal_places=2)
    units_total = models.PositiveBigIntegerField(null=True, blank=True)  # N (the offering's units)
    units_outstanding = models.PositiveBigIntegerField(null=True, blank=True)  # held by investors at billing
    investors_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    retained_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
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
    # What the token pulled at the deposit (pool × units outstanding then / N, rounded up) and
    # those units: units sold or burned between billing and deposit move it off the billed part.
    deposited_base_units = models.CharField(max_length=80, blank=True)
    units_at_deposit = models.PositiveBigIntegerField(null=True, blank=True)
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
    def platform_amount(self):
        """What the platform keeps of the amount due: its fee and the reserve it holds."""
        return self.platform_fee + self.reserve

    @property
    def key(self) -> str:
        return f"distribution:{self.public_id}"

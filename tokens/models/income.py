"""Holders' income: claims of accrued income and withdrawals from custodial wallets."""


from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from core.models import BaseModel
from tokens.models.offerings import Offering


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

"""The chain gateway's tables: the transaction outbox, per-sender nonces, shared-contract
deployments, and indexed events.

The outbox (`ChainTransaction`) is the only way the platform writes to a chain: a row is
written inside the caller's DB transaction, and a worker signs it, stores the signed raw
transaction and its hash BEFORE broadcasting, then tracks the receipt. A worker that dies
after broadcasting is recovered by re-broadcasting the same signed bytes (or finding the
receipt by hash), never by signing a second transaction, so there is no duplicate effect.
"""

from django.db import models

from core.models import BaseModel


class ChainTransaction(BaseModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUBMITTED = "submitted", "Submitted"
        MINED = "mined", "Mined"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed"

    class Sender(models.TextChoices):
        OPERATOR = "operator", "Operator"
        AGENT = "agent", "Agent"

    idempotency_key = models.CharField(max_length=200, unique=True)
    # Free text chosen by the caller (e.g. "identity.register"); confirmation hooks are keyed by it.
    kind = models.CharField(max_length=100, db_index=True)
    contract_name = models.CharField(max_length=100)
    # Blank for a contract deployment (function "constructor").
    to_address = models.CharField(max_length=42, blank=True)
    function = models.CharField(max_length=100)
    # JSON list; ints > 2**53 as decimal strings.
    args = models.JSONField(default=list, blank=True)
    # "operator" | "agent" (Sender), or "wallet:<address>" for a custodial wallet whose key a
    # registered key provider holds (chain.gateway.register_key_provider); no choices, so the
    # wallet form validates in chain.services.outbox_enqueue.
    sender = models.CharField(max_length=60, default=Sender.AGENT)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    chain_id = models.PositiveBigIntegerField(null=True, blank=True)
    sender_address = models.CharField(max_length=42, blank=True)
    nonce = models.PositiveBigIntegerField(null=True, blank=True)
    gas_limit = models.PositiveBigIntegerField(null=True, blank=True)
    raw_tx = models.TextField(blank=True)
    tx_hash = models.CharField(max_length=66, blank=True, db_index=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    contract_address = models.CharField(max_length=42, blank=True)
    receipt = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    hook_done = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    # Ordering between intents: this row is not signed before `after` is confirmed, and fails
    # if `after` fails (e.g. approve → distribute, register → set expiry → delete).
    after = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.function} [{self.status}]"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.CONFIRMED, self.Status.FAILED)


class SenderNonce(models.Model):
    """Next nonce per (chain, sender address); locked with select_for_update so two workers
    never hand out the same nonce."""

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    next_nonce = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain_id", "address"], name="chain_sender_nonce_unique")]

    def __str__(self) -> str:
        return f"{self.address}@{self.chain_id}: {self.next_nonce}"


class Deployment(BaseModel):
    """A shared contract deployed by `manage.py chain_bootstrap`."""

    chain_id = models.PositiveBigIntegerField()
    name = models.CharField(max_length=100)
    address = models.CharField(max_length=42)
    tx_hash = models.CharField(max_length=66, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain_id", "name"], name="chain_deployment_unique")]

    def __str__(self) -> str:
        return f"{self.name} {self.address}"


class IndexedContract(models.Model):
    """A contract whose events the indexer follows, with its block cursor."""

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    contract_name = models.CharField(max_length=100)
    from_block = models.PositiveBigIntegerField(default=0)
    # Last block whose logs are stored (confirmed); -1 = nothing yet.
    last_block = models.BigIntegerField(default=-1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain_id", "address"], name="chain_indexed_contract_unique")]

    def __str__(self) -> str:
        return f"{self.contract_name} {self.address} @{self.last_block}"


class ChainEvent(models.Model):
    """A decoded, confirmed log of an indexed contract."""

    contract = models.ForeignKey(IndexedContract, on_delete=models.CASCADE, related_name="events")
    block_number = models.PositiveBigIntegerField(db_index=True)
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    event = models.CharField(max_length=100, db_index=True)
    args = models.JSONField(default=dict)
    block_timestamp = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["block_number", "log_index"]
        constraints = [models.UniqueConstraint(fields=["tx_hash", "log_index"], name="chain_event_unique")]

    def __str__(self) -> str:
        return f"{self.event} #{self.block_number}:{self.log_index}"

"""Investors' KYC records: profile, wallets, cases with their documents and decision log,
and the loaded sanctions list with screening hits."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.models import BaseModel


class InvestorProfile(BaseModel):
    class InvestorType(models.TextChoices):
        INDIVIDUAL = "individual", gettext_lazy("Individual")
        ENTITY = "entity", gettext_lazy("Entity")

    class Accreditation(models.TextChoices):
        INCOME = "income", gettext_lazy("Rule 501(a): income over $200k ($300k joint) for two years")
        NET_WORTH = "net_worth", gettext_lazy("Rule 501(a): net worth over $1M excluding primary residence")
        LICENCE = "licence", gettext_lazy("Rule 501(a): Series 7, 65 or 82 licence")
        NON_US = "non_us", gettext_lazy("Non-US investor (Regulation S)")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="investor_profile")
    legal_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    residence_country = models.CharField(max_length=2, blank=True, help_text=gettext_lazy("ISO 3166-1 alpha-2"))
    # ISO 3166-1 numeric, as the IdentityRegistry stores it (uint16).
    residence_country_numeric = models.PositiveSmallIntegerField(null=True, blank=True)
    address = models.TextField(blank=True)
    investor_type = models.CharField(max_length=20, choices=InvestorType.choices, default=InvestorType.INDIVIDUAL)
    accreditation_basis = models.CharField(max_length=20, choices=Accreditation.choices, blank=True)
    accreditation_detail = models.CharField(max_length=200, blank=True)
    tax_residence = models.CharField(max_length=2, blank=True)
    is_pep = models.BooleanField(default=False)
    intended_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    intended_currency = models.CharField(max_length=3, default="USD")
    # Deterministic per-investor address that all of the investor's wallets map to on chain.
    identity_address = models.CharField(max_length=42, blank=True)
    # Retention (GDPR art. 17(3)(b) + AMLD art. 40).
    processing_restricted = models.BooleanField(default=False)
    erasure_requested_at = models.DateTimeField(null=True, blank=True)
    relationship_ended_at = models.DateTimeField(null=True, blank=True)
    purge_after = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Investor profile #{self.pk}"

    @property
    def is_complete(self) -> bool:
        return bool(self.legal_name and self.date_of_birth and self.residence_country and self.address
                    and self.accreditation_basis and self.tax_residence)


class Wallet(BaseModel):
    class Kind(models.TextChoices):
        CUSTODIAL = "custodial", gettext_lazy("Custodial (held by the platform)")
        SELF_CUSTODY = "self_custody", gettext_lazy("Self-custody")

    profile = models.ForeignKey(InvestorProfile, on_delete=models.PROTECT, related_name="wallets")
    address = models.CharField(max_length=42, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Fernet ciphertext (core.crypto); never rendered, logged or serialized.
    encrypted_private_key = models.TextField(blank=True, editable=False)
    # The registry's state as last CONFIRMED on chain (set by the chain hooks, never when a
    # write is only queued): a purchase needs a wallet the registry really holds.
    registered_on_chain = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} wallet {self.address}"

    def __repr__(self) -> str:
        return f"<Wallet {self.pk} {self.kind} {self.address}>"


class WalletChallenge(BaseModel):
    """A single-use EIP-4361 nonce handed to an investor to prove control of an address."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=42)
    nonce = models.CharField(max_length=64, unique=True)
    message = models.TextField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Challenge {self.nonce[:8]}… for {self.address}"


class KycCase(BaseModel):
    class Status(models.TextChoices):
        DRAFT = "draft", gettext_lazy("Draft")
        SUBMITTED = "submitted", gettext_lazy("Submitted")
        IN_REVIEW = "in_review", gettext_lazy("In review")
        NEEDS_MORE_INFO = "needs_more_info", gettext_lazy("Needs more information")
        APPROVED = "approved", gettext_lazy("Approved")
        REJECTED = "rejected", gettext_lazy("Rejected")
        EXPIRED = "expired", gettext_lazy("Expired")
        REVOKED = "revoked", gettext_lazy("Revoked")
        # Replaced by a later approved case (renewal or profile change).
        SUPERSEDED = "superseded", gettext_lazy("Superseded")

    class Purpose(models.TextChoices):
        INITIAL = "initial", gettext_lazy("First review")
        RENEWAL = "renewal", gettext_lazy("Renewal before expiry")
        CHANGE = "change", gettext_lazy("Profile changed after approval")

    class Risk(models.TextChoices):
        LOW = "low", gettext_lazy("Low")
        MEDIUM = "medium", gettext_lazy("Medium")
        HIGH = "high", gettext_lazy("High")

    profile = models.ForeignKey(InvestorProfile, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    risk_score = models.PositiveSmallIntegerField(default=0)
    risk_level = models.CharField(max_length=10, choices=Risk.choices, default=Risk.LOW, db_index=True)
    # Sticky: a case that was high risk at any point keeps needing two approvers.
    was_high_risk = models.BooleanField(default=False)
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.INITIAL)
    # ISO 3166-1 numeric country written to the registry by this case's approval.
    country_numeric = models.PositiveSmallIntegerField(null=True, blank=True)
    screened_at = models.DateTimeField(null=True, blank=True)
    first_approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    first_approved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Last reason shown to the investor (rejection, information requested, revocation).
    investor_message = models.TextField(blank=True)

    class Meta:
        ordering = ["submitted_at", "id"]

    def __str__(self) -> str:
        return f"KYC case #{self.pk}"

    @property
    def open_hits(self):
        return self.hits.filter(status=ScreeningHit.Status.OPEN)

    @property
    def is_active_approval(self) -> bool:
        return self.status == self.Status.APPROVED and (self.expires_at is None or self.expires_at > timezone.now())


def _document_path(instance, filename: str) -> str:
    # The stored name says nothing about the content; the bytes are ciphertext.
    return f"kyc/{instance.case_id}/{uuid.uuid4().hex}.enc"


class KycDocument(BaseModel):
    class Kind(models.TextChoices):
        IDENTITY = "identity", gettext_lazy("Identity document")
        PROOF_OF_ADDRESS = "proof_of_address", gettext_lazy("Proof of address")
        ACCREDITATION = "accreditation", gettext_lazy("Accreditation evidence")

    case = models.ForeignKey(KycCase, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    file = models.FileField(upload_to=_document_path, max_length=200, blank=True)
    original_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.sha256[:12]}…)"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The decision log is append-only.")

    def delete(self):
        raise PermissionError("The decision log is append-only.")


class KycDecision(models.Model):
    """Append-only decision log of a case: who, when, why, and which evidence (by hash)."""

    case = models.ForeignKey(KycCase, on_delete=models.PROTECT, related_name="decisions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)
    evidence_hashes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or 'system'}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_redaction", False):
            raise PermissionError("The decision log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The decision log is append-only.")


class SanctionsListLoad(models.Model):
    source = models.CharField(max_length=200)
    file_format = models.CharField(max_length=10)
    sha256 = models.CharField(max_length=64)
    publish_date = models.CharField(max_length=40, blank=True)
    entry_count = models.PositiveIntegerField(default=0)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-loaded_at", "-id"]

    def __str__(self) -> str:
        return f"SDN load {self.loaded_at:%Y-%m-%d %H:%M} ({self.entry_count} entries)"


class SanctionsEntry(models.Model):
    uid = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=350)
    sdn_type = models.CharField(max_length=20, blank=True)
    programs = models.CharField(max_length=200, blank=True)
    remarks = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.name} (SDN {self.uid})"


class SanctionsAlias(models.Model):
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=350)
    alias_type = models.CharField(max_length=20, blank=True)

    def __str__(self) -> str:
        return self.name


class SanctionsDob(models.Model):
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.CASCADE, related_name="dobs")
    text = models.CharField(max_length=60)
    year = models.PositiveSmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.text


class SanctionsCountry(models.Model):
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.CASCADE, related_name="countries")
    name = models.CharField(max_length=100)
    alpha2 = models.CharField(max_length=2, blank=True)

    def __str__(self) -> str:
        return self.name


class ScreeningHit(BaseModel):
    """A possible match of a case against the SDN list. Entry facts are copied, because
    the list is replaced on every load."""

    class Status(models.TextChoices):
        OPEN = "open", gettext_lazy("Open — blocks approval")
        CLEARED = "cleared", gettext_lazy("Cleared (false positive)")

    case = models.ForeignKey(KycCase, on_delete=models.PROTECT, related_name="hits")
    entry_uid = models.CharField(max_length=20)
    entry_name = models.CharField(max_length=350)
    matched_name = models.CharField(max_length=350)
    programs = models.CharField(max_length=200, blank=True)
    score = models.PositiveSmallIntegerField()
    detail = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    cleared_at = models.DateTimeField(null=True, blank=True)
    clear_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "entry_uid"], name="uniq_hit_per_case_entry")]

    def __str__(self) -> str:
        return f"Hit {self.entry_name} ({self.score})"

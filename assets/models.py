"""Devices and their lifecycle, photos and documents, appraisals and certifications."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from accounts.models import Organization
from core.models import BaseModel
from core.money import CURRENCIES


class Modality(models.TextChoices):
    # DICOM modality codes (0008,0060)
    CT = "CT", gettext_lazy("Computed tomography")
    MR = "MR", gettext_lazy("Magnetic resonance")
    US = "US", gettext_lazy("Ultrasound")
    DX = "DX", gettext_lazy("X-ray (digital radiography)")
    MG = "MG", gettext_lazy("Mammography")
    PT = "PT", gettext_lazy("PET")
    NM = "NM", gettext_lazy("Nuclear medicine")
    OT = "OT", gettext_lazy("Other")


class DeviceStatus(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Draft")
    SUBMITTED = "submitted", gettext_lazy("Submitted")
    CHANGES_REQUESTED = "changes_requested", gettext_lazy("Changes requested")
    APPRAISED = "appraised", gettext_lazy("Appraised")
    CERTIFIED = "certified", gettext_lazy("Certified")
    TOKENIZED = "tokenized", gettext_lazy("Tokenized")
    RETIRED = "retired", gettext_lazy("Retired")


def new_public_ref() -> str:
    """Opaque public reference for /verify/<ref>/ and the QR code: 128 random bits, so
    nobody can walk the devices by guessing (sequential ids could be)."""
    return secrets.token_urlsafe(16)


class AnchorStatus(models.TextChoices):
    NONE = "", gettext_lazy("Not anchored")
    PENDING = "pending", gettext_lazy("Anchoring")
    ANCHORED = "anchored", gettext_lazy("Anchored")
    FAILED = "failed", gettext_lazy("Anchoring failed")


class Device(BaseModel):
    """A piece of imaging equipment listed by a clinic. Changes go through assets.services;
    the lifecycle is draft → submitted → appraised → certified → tokenized → retired."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="devices")
    status = models.CharField(max_length=20, choices=DeviceStatus.choices, default=DeviceStatus.DRAFT,
                              db_index=True)
    modality = models.CharField(max_length=2, choices=Modality.choices)
    manufacturer = models.CharField(max_length=120)
    model_name = models.CharField(max_length=120)
    serial_number = models.CharField(max_length=64)

    # UDI as entered and as parsed (GS1 GTIN-14 DI, or HIBCC labeler+product).
    udi_raw = models.CharField(max_length=300, blank=True)
    udi_issuer = models.CharField(max_length=10, blank=True)  # gs1 | hibcc | iccbba
    udi_di = models.CharField(max_length=40, blank=True, db_index=True)
    udi_serial = models.CharField(max_length=64, blank=True)
    udi_lot = models.CharField(max_length=64, blank=True)
    udi_production_date = models.DateField(null=True, blank=True)
    udi_expiry_date = models.DateField(null=True, blank=True)

    manufacture_date = models.DateField(null=True, blank=True)
    purchase_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    purchase_currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")
    purchase_date = models.DateField(null=True, blank=True)
    install_site = models.CharField(max_length=200, blank=True)

    gpu_model = models.CharField(max_length=80, blank=True)
    gpu_count = models.PositiveSmallIntegerField(default=0)
    gpu_memory_gb = models.PositiveSmallIntegerField(default=0)

    fda_510k = models.CharField(max_length=7, blank=True)
    eu_mdr_class = models.CharField(max_length=3, blank=True)
    eu_certificate_number = models.CharField(max_length=64, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One UDI-DI + serial across the whole platform.
            models.UniqueConstraint(
                fields=["udi_di", "serial_number"], condition=~models.Q(udi_di=""),
                name="uniq_device_udi_di_serial",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_modality_display()} {self.manufacturer} {self.model_name} ({self.serial_number})"

    # Added in 0002: review workflow and what the UDI check found.
    udi_warnings = models.JSONField(default=list, blank=True)
    declared_exams_per_day = models.DecimalField(
        max_digits=6, decimal_places=1, null=True, blank=True,
        help_text=gettext_lazy("Typical exams per day; prefills the income approach when no telemetry exists."))
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status_reason = models.TextField(blank=True)  # last changes-requested / failed-inspection reason

    # Added in 0003: the public reference and the certification anchor on AssetRegistry.
    public_ref = models.CharField(max_length=32, unique=True, default=new_public_ref, editable=False)
    # bytes32 key on AssetRegistry ("0x" + 64 hex), random, set at the first certification
    # and kept for the device's life; each attempt is one outbox row (assets.anchor:<pk>:<n>).
    chain_anchor_id = models.CharField(max_length=66, blank=True)
    anchor_status = models.CharField(max_length=10, choices=AnchorStatus.choices, default=AnchorStatus.NONE,
                                     blank=True)
    anchor_attempt = models.PositiveIntegerField(default=0)
    anchor_certificate_sha256 = models.CharField(max_length=64, blank=True)  # what was sent
    anchor_appraisal_sha256 = models.CharField(max_length=64, blank=True)
    anchor_tx_hash = models.CharField(max_length=66, blank=True)
    anchor_block_number = models.PositiveBigIntegerField(null=True, blank=True)
    anchor_error = models.TextField(blank=True)
    anchored_at = models.DateTimeField(null=True, blank=True)
    # Added in 0004: a failed anchoring is retried automatically (assets.tasks.anchors_retry_due)
    # at this time; null when no automatic retry is planned (anchored, pending, a permanent
    # error, or the automatic attempts are used up: then only the manual retry is left).
    anchor_next_retry_at = models.DateTimeField(null=True, blank=True, db_index=True)
    anchor_auto_retries = models.PositiveSmallIntegerField(default=0)  # since the last manual retry

    @property
    def anchor_key(self) -> str:
        return f"assets.anchor:{self.pk}:{self.anchor_attempt}"

    @property
    def is_editable(self) -> bool:
        return self.status in (DeviceStatus.DRAFT, DeviceStatus.CHANGES_REQUESTED)


def _device_upload_path(instance, filename: str) -> str:
    return f"assets/devices/{instance.device_id}/{filename}"


class DevicePhoto(BaseModel):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to=_device_upload_path, max_length=255)
    thumbnail = models.FileField(upload_to=_device_upload_path, max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Photo {self.pk} of device {self.device_id}"


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", gettext_lazy("Purchase invoice")
    OWNERSHIP = "ownership", gettext_lazy("Ownership evidence")
    REGULATORY = "regulatory", gettext_lazy("Regulatory clearance")
    QA = "qa_calibration", gettext_lazy("QA / calibration report")
    SERVICE = "service", gettext_lazy("Service record")
    OTHER = "other", gettext_lazy("Other")


class DeviceDocument(BaseModel):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    file = models.FileField(upload_to=_device_upload_path, max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for device {self.device_id}"


class AppraisalStatus(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Draft")
    SIGNED = "signed", gettext_lazy("Signed")
    SUPERSEDED = "superseded", gettext_lazy("Superseded")


class Appraisal(BaseModel):
    """One valuation of a device. Every input and assumption is kept in `inputs`; the
    computed approach values in their own columns. Signed appraisals are immutable."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="appraisals")
    appraiser = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=AppraisalStatus.choices, default=AppraisalStatus.DRAFT)
    client = models.CharField(max_length=200)
    intended_users = models.CharField(max_length=300)
    intended_use = models.CharField(max_length=300)
    value_definition = models.TextField()
    effective_date = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")
    inputs = models.JSONField(default=dict)
    cost_value = models.DecimalField(max_digits=14, decimal_places=2)
    market_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    income_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reconciled_value = models.DecimalField(max_digits=14, decimal_places=2)
    weights = models.JSONField(default=dict)
    signed_at = models.DateTimeField(null=True, blank=True)
    report_pdf = models.FileField(upload_to="assets/appraisals/", max_length=255, blank=True)
    report_sha256 = models.CharField(max_length=64, blank=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["device"], condition=models.Q(status="signed"),
                                    name="uniq_signed_appraisal_per_device"),
        ]

    def __str__(self) -> str:
        return f"Appraisal {self.pk} of device {self.device_id} ({self.status})"


class Certification(BaseModel):
    """An inspector's checklist result. A pass issues a certificate PDF; its hash (with the
    appraisal report's) is what gets anchored on chain."""

    public_id = models.UUIDField(unique=True, editable=False)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="certifications")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    passed = models.BooleanField()
    checklist = models.JSONField(default=list)  # [{"key", "label", "passed", "notes"}]
    qa_calibration_date = models.DateField(null=True, blank=True)
    appraisal = models.ForeignKey(Appraisal, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    certificate_pdf = models.FileField(upload_to="assets/certificates/", max_length=255, blank=True)
    certificate_sha256 = models.CharField(max_length=64, blank=True)
    anchor_tx_hash = models.CharField(max_length=66, blank=True)
    anchor_block_number = models.PositiveBigIntegerField(null=True, blank=True)
    anchor_chain_id = models.PositiveBigIntegerField(null=True, blank=True)
    anchor_registry_address = models.CharField(max_length=42, blank=True)
    anchored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Certification {self.public_id} ({'pass' if self.passed else 'fail'})"

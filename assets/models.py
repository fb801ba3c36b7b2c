from django.conf import settings
from django.db import models

from accounts.models import Organization
from core.models import BaseModel
from core.money import CURRENCIES


class Modality(models.TextChoices):
    # DICOM modality codes (0008,0060)
    CT = "CT", "Computed tomography"
    MR = "MR", "Magnetic resonance"
    US = "US", "Ultrasound"
    DX = "DX", "X-ray (digital radiography)"
    MG = "MG", "Mammography"
    PT = "PT", "PET"
    NM = "NM", "Nuclear medicine"
    OT = "OT", "Other"


class DeviceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPRAISED = "appraised", "Appraised"
    CERTIFIED = "certified", "Certified"
    TOKENIZED = "tokenized", "Tokenized"
    RETIRED = "retired", "Retired"


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

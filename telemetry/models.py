"""Device telemetry: credentials, append-only events, plausibility flags, rollups, tariffs
and revenue periods. Writes go through telemetry.services / telemetry.ingest."""

from django.conf import settings
from django.db import models

from core.models import BaseModel
from core.money import CURRENCIES


class DeviceCredential(BaseModel):
    """An HMAC key for one device. The secret is stored encrypted (core.crypto), not hashed:
    verifying an HMAC needs the raw secret, so a one-way hash could never check a signature.
    At most two are active per device (rotation)."""

    device = models.ForeignKey("assets.Device", on_delete=models.PROTECT, related_name="telemetry_credentials")
    key_id = models.CharField(max_length=40, unique=True)
    secret_encrypted = models.TextField()
    label = models.CharField(max_length=80, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    revoke_reason = models.CharField(max_length=200, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["device", "revoked_at"])]

    def __str__(self) -> str:
        return self.key_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class DeviceStream(models.Model):
    """Per-device ingest state. Its row is locked for each batch, which serializes the
    sequence checks of concurrent (retried) uploads of one device."""

    device = models.OneToOneField("assets.Device", on_delete=models.CASCADE, related_name="telemetry_stream")
    last_seq = models.BigIntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    events_total = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"stream of device {self.device_id}"


class EventKind(models.TextChoices):
    PROCEDURE = "procedure", "Procedure"
    HEARTBEAT = "heartbeat", "Heartbeat"


class TelemetryEvent(models.Model):
    """Append-only. Typed columns for what rollups and revenue read; `data` keeps the
    event as sent. Inserted in bulk by telemetry.ingest (one statement per batch)."""

    device = models.ForeignKey("assets.Device", on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=EventKind.choices)
    idempotency_key = models.CharField(max_length=128)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    # procedure
    status = models.CharField(max_length=12, blank=True)  # COMPLETED | DISCONTINUED
    cpt_code = models.CharField(max_length=5, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    gpu_seconds = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    gpu_energy_j = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    # heartbeat
    uptime_s = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "idempotency_key"], name="uniq_telemetry_device_key"),
            models.UniqueConstraint(fields=["device", "seq"], name="uniq_telemetry_device_seq"),
        ]
        indexes = [
            models.Index(fields=["device", "occurred_at"], name="telemetry_dev_time"),
            models.Index(fields=["device", "kind", "started_at"], name="telemetry_dev_kind_start"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key}"


class FlagCode(models.TextChoices):
    THROUGHPUT = "throughput", "Beyond the modality's physical throughput"
    OVERLAP = "overlap", "Overlaps another procedure on this device"
    GPU_ENERGY = "gpu_energy", "GPU energy inconsistent with GPU seconds"
    SEQUENCE_GAP = "sequence_gap", "Sequence gap before this event"
    CLOCK_SKEW = "clock_skew", "Clock skew"


class PlausibilityFlag(BaseModel):
    """A reason to doubt an event. An open flag keeps its event out of revenue until a
    platform admin clears it (with a reason, audited)."""

    device = models.ForeignKey("assets.Device", on_delete=models.PROTECT, related_name="+")
    event = models.ForeignKey(TelemetryEvent, on_delete=models.PROTECT, related_name="flags")
    code = models.CharField(max_length=20, choices=FlagCode.choices)
    details = models.JSONField(default=dict)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    clear_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["event", "code"], name="uniq_telemetry_flag_event_code")]
        indexes = [models.Index(fields=["device", "cleared_at"])]

    def __str__(self) -> str:
        return f"{self.code} on event {self.event_id}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class HourlyRollup(models.Model):
    device = models.ForeignKey("assets.Device", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    procedures_completed = models.IntegerField(default=0)
    procedures_discontinued = models.IntegerField(default=0)
    gpu_seconds = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    gpu_energy_j = models.DecimalField(max_digits=20, decimal_places=3, default=0)
    heartbeats = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "hour"], name="uniq_telemetry_hourly")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.hour:%Y-%m-%d %H}h"


class DailyRollup(models.Model):
    device = models.ForeignKey("assets.Device", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    procedures_completed = models.IntegerField(default=0)
    procedures_discontinued = models.IntegerField(default=0)
    gpu_seconds = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    gpu_energy_j = models.DecimalField(max_digits=20, decimal_places=3, default=0)
    heartbeats = models.IntegerField(default=0)
    online_hours = models.IntegerField(default=0)  # hours of the day with at least one heartbeat

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "day"], name="uniq_telemetry_daily")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.day}"


class Watermark(models.Model):
    """How far an incremental job has read the event table (by event id)."""

    name = models.CharField(max_length=40, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}@{self.last_event_id}"


class Tariff(BaseModel):
    """Fee schedule row: the technical fee paid for a CPT code by a payer in a year."""

    cpt_code = models.CharField(max_length=5)
    payer = models.CharField(max_length=60, default="default")
    year = models.PositiveSmallIntegerField()
    technical_fee = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")

    class Meta:
        ordering = ["cpt_code", "payer", "-year"]
        constraints = [models.UniqueConstraint(fields=["cpt_code", "payer", "year"], name="uniq_telemetry_tariff")]

    def __str__(self) -> str:
        return f"CPT {self.cpt_code} {self.payer} {self.year}: {self.technical_fee} {self.currency}"


class RevenuePeriodStatus(models.TextChoices):
    CLOSED = "closed", "Closed"
    SETTLED = "settled", "Settled"


class RevenuePeriod(BaseModel):
    """A month of a device's revenue, frozen when closed (completed, unflagged procedures ×
    tariff). Open months are computed live by the selector and not stored."""

    device = models.ForeignKey("assets.Device", on_delete=models.PROTECT, related_name="revenue_periods")
    period_start = models.DateField()
    period_end = models.DateField()  # exclusive
    status = models.CharField(max_length=10, choices=RevenuePeriodStatus.choices, default=RevenuePeriodStatus.CLOSED)
    procedures = models.IntegerField(default=0)
    unpriced_procedures = models.IntegerField(default=0)
    excluded_flagged = models.IntegerField(default=0)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")
    lines = models.JSONField(default=list)  # [{"cpt_code", "count", "fee", "amount"}]
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["device", "-period_start"]
        constraints = [models.UniqueConstraint(fields=["device", "period_start"], name="uniq_telemetry_period")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.period_start:%Y-%m} {self.amount} {self.currency}"

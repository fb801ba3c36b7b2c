"""Device telemetry: credentials, append-only events, plausibility flags, rollups, tariffs
and revenue periods. Writes go through telemetry.services / telemetry.ingest."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_lazy

from core.errors import ApplicationError
from core.models import BaseModel
from core.money import CURRENCIES, format_money


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
    PROCEDURE = "procedure", gettext_lazy("Procedure")
    HEARTBEAT = "heartbeat", gettext_lazy("Heartbeat")
    COMPUTE_JOB = "compute_job", gettext_lazy("Compute job")  # idle GPU time sold (GPU-equipped scanners)


class TelemetryEvent(models.Model):
    """Append-only. Typed columns for what rollups and revenue read; `data` keeps the
    event as sent. Inserted in bulk by telemetry.ingest (one statement per batch)."""

    device = models.ForeignKey("assets.Device", on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    idempotency_key = models.CharField(max_length=128)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    # procedure
    status = models.CharField(max_length=12, blank=True)  # COMPLETED | DISCONTINUED
    cpt_code = models.CharField(max_length=5, blank=True)
    payer = models.CharField(max_length=60, blank=True)  # empty: apportioned by the device's PayerMix
    # procedure and compute job
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    gpu_seconds = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    gpu_energy_j = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    # compute job
    gpu_index = models.PositiveSmallIntegerField(null=True, blank=True)
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
    THROUGHPUT = "throughput", gettext_lazy("Beyond the modality's physical throughput")
    OVERLAP = "overlap", gettext_lazy("Overlaps another procedure (or compute job) on this device")
    GPU_ENERGY = "gpu_energy", gettext_lazy("GPU energy inconsistent with GPU seconds")
    SEQUENCE_GAP = "sequence_gap", gettext_lazy("Sequence gap before this event")
    CLOCK_SKEW = "clock_skew", gettext_lazy("Clock skew")
    DURATION = "duration", gettext_lazy("Longer than the modality's longest procedure")


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
    compute_gpu_seconds = models.DecimalField(max_digits=16, decimal_places=3, default=0)
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
    compute_gpu_seconds = models.DecimalField(max_digits=16, decimal_places=3, default=0)
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


class PayerMix(BaseModel):
    """Share of a device's procedures paid by each payer, for events that carry no payer.
    A device's rows sum to 100; no rows means 100 % "default"."""

    device = models.ForeignKey("assets.Device", on_delete=models.CASCADE, related_name="payer_mix")
    payer = models.CharField(max_length=60)
    share_pct = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["device", "-share_pct", "payer"]
        constraints = [
            models.UniqueConstraint(fields=["device", "payer"], name="uniq_telemetry_payer_mix"),
            models.CheckConstraint(condition=models.Q(share_pct__gt=0, share_pct__lte=100),
                                   name="telemetry_payer_mix_share_range"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.payer} {self.share_pct}%"


class ComputeTariff(BaseModel):
    """Price of one GPU-hour of compute sold from a scanner's idle GPU, per year."""

    year = models.PositiveSmallIntegerField(unique=True)
    price_per_gpu_hour = models.DecimalField(max_digits=12, decimal_places=4)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")

    class Meta:
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"compute {self.year}: {self.price_per_gpu_hour} {self.currency}/GPU-hour"


class RevenuePeriodStatus(models.TextChoices):
    CLOSED = "closed", gettext_lazy("Closed")
    SETTLED = "settled", gettext_lazy("Settled")


class RevenuePeriodKind(models.TextChoices):
    REGULAR = "regular", gettext_lazy("Regular")
    ADJUSTMENT = "adjustment", gettext_lazy("Adjustment")


# What a closed period states; frozen once stored (corrections are adjustment periods).
FROZEN_FIELDS = ("device_id", "period_start", "period_end", "kind", "adjusts_id", "procedures",
                 "unpriced_procedures", "excluded_flagged", "compute_jobs", "compute_gpu_seconds",
                 "excluded_flagged_jobs", "procedure_amount", "compute_amount", "amount", "currency", "lines",
                 "reason")


class RevenuePeriodQuerySet(models.QuerySet):
    def update(self, **kwargs):
        frozen = {f.removesuffix("_id") for f in FROZEN_FIELDS} | set(FROZEN_FIELDS)
        if frozen & set(kwargs):
            raise ApplicationError("period_immutable", gettext("A closed revenue period's figures cannot change; "
                                   "record an adjustment period instead."), status=409)
        return super().update(**kwargs)

    def delete(self):
        raise ApplicationError("period_immutable", gettext("Closed revenue periods are never deleted."), status=409)


class RevenuePeriod(BaseModel):
    """A month of a device's revenue, frozen when closed (completed, unflagged procedures ×
    fee schedule + unflagged compute jobs × compute tariff). Open months are computed live
    by the selector and not stored. A correction found later is a separate ADJUSTMENT
    period for the same month holding only the difference (`adjusts` → the original)."""

    device = models.ForeignKey("assets.Device", on_delete=models.PROTECT, related_name="revenue_periods")
    period_start = models.DateField()
    period_end = models.DateField()  # exclusive
    kind = models.CharField(max_length=10, choices=RevenuePeriodKind.choices, default=RevenuePeriodKind.REGULAR)
    adjusts = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments")
    reason = models.TextField(blank=True)  # why an adjustment was recorded
    status = models.CharField(max_length=10, choices=RevenuePeriodStatus.choices, default=RevenuePeriodStatus.CLOSED)
    procedures = models.IntegerField(default=0)
    unpriced_procedures = models.IntegerField(default=0)
    excluded_flagged = models.IntegerField(default=0)
    compute_jobs = models.IntegerField(default=0)
    compute_gpu_seconds = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    excluded_flagged_jobs = models.IntegerField(default=0)
    procedure_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    compute_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)  # procedure_amount + compute_amount
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")
    # [{"kind": "procedure"|"compute", ..., "amount", "explanation"}]: see telemetry.selectors.compute_revenue
    lines = models.JSONField(default=list, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    settled_at = models.DateTimeField(null=True, blank=True)

    objects = RevenuePeriodQuerySet.as_manager()

    class Meta:
        ordering = ["device", "-period_start", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["device", "period_start"], condition=models.Q(kind="regular"),
                                    name="uniq_telemetry_period"),
            models.CheckConstraint(
                condition=(models.Q(kind="regular", adjusts__isnull=True)
                           | models.Q(kind="adjustment", adjusts__isnull=False)),
                name="telemetry_period_adjusts_iff_adjustment"),
        ]

    def __str__(self) -> str:
        tag = " adj" if self.kind == RevenuePeriodKind.ADJUSTMENT else ""
        return f"{self.device_id} {self.period_start:%Y-%m}{tag} {format_money(self.amount, self.currency)}"

    def save(self, *args, **kwargs):
        # Model-level guard: a stored period's figures never change (status/settled_at may).
        if self.pk is not None and not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk).values(*FROZEN_FIELDS).first()
            if stored is not None:
                changed = [f for f in FROZEN_FIELDS if stored[f] != getattr(self, f)]
                if changed:
                    raise ApplicationError(
                        "period_immutable", gettext("A closed revenue period's figures cannot change; record an "
                        "adjustment period instead."), details={"fields": changed}, status=409)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ApplicationError("period_immutable", gettext("Closed revenue periods are never deleted."), status=409)

"""Notifications, per-category email preferences, and the email delivery of each notification."""

from django.conf import settings
from django.db import models

from core.models import BaseModel


class Category(models.TextChoices):
    SECURITY = "security", "Security (device keys, sign-in)"
    LEGAL = "legal", "Legal notices"
    KYC = "kyc", "KYC and compliance"
    ORDERS = "orders", "Orders and payments"
    INCOME = "income", "Income and distributions"
    CLINIC_STATEMENTS = "clinic_statements", "Clinic monthly statements"
    MARKET = "market", "Market (offers)"
    DEVICES = "devices", "Device usage checks"


# Email for these cannot be switched off: people must hear about them.
ALWAYS_EMAIL = frozenset({Category.SECURITY, Category.LEGAL})


class Notification(BaseModel):
    """One event told to one person, in the app (and by email unless they opted out)."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    category = models.CharField(max_length=32, choices=Category.choices)
    event_key = models.CharField(max_length=200)
    # event key + recipient: a second notify() for the same event and person writes nothing.
    idempotency_key = models.CharField(max_length=255, unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # A path inside the site ("/orders/…"); emails make it absolute with SITE_URL.
    url = models.CharField(max_length=500, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"]),
                   models.Index(fields=["recipient", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(BaseModel):
    """Email on/off for one category; no row means on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    category = models.CharField(max_length=32, choices=Category.choices)
    email_enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "category"], name="uniq_notification_pref")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.category}: {'email' if self.email_enabled else 'in-app only'}"


class EmailDelivery(BaseModel):
    """The email of one notification. Sending claims the row (pending → sending) first, so a
    redelivered or duplicated task never sends it twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    notification = models.OneToOneField(Notification, on_delete=models.CASCADE, related_name="email_delivery")
    to_email = models.EmailField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Email for notification {self.notification_id}: {self.status}"

"""Notifications, per-category email preferences, and the email delivery of each notification."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from core.models import BaseModel
from core.roles import Role


class Category(models.TextChoices):
    SECURITY = "security", gettext_lazy("Security (device keys, sign-in)")
    LEGAL = "legal", gettext_lazy("Legal notices")
    KYC = "kyc", gettext_lazy("KYC and compliance")
    ORDERS = "orders", gettext_lazy("Orders and payments")
    INCOME = "income", gettext_lazy("Income and distributions")
    CLINIC_STATEMENTS = "clinic_statements", gettext_lazy("Clinic monthly statements")
    MARKET = "market", gettext_lazy("Market (offers, trades and transfers)")
    DEVICES = "devices", gettext_lazy("Device usage checks")
    # A device waits on someone: appraisal, changes, inspection, certification (assets).
    DEVICE_REVIEWS = "device_reviews", gettext_lazy("Device appraisal and certification")
    # An offering waits on someone: the clinic's consent, the deployment, a pricing exception.
    OFFERINGS = "offerings", gettext_lazy("Tokenization and offerings")


# Email for these cannot be switched off: people must hear about them.
ALWAYS_EMAIL = frozenset({Category.SECURITY, Category.LEGAL})

# Who each category can reach: the roles its notices are sent to (None: anyone). Preferences
# list only the categories of the user's roles, so an investor is not asked about clinic
# statements. A category missing here is listed to everyone (notifications.tests checks none is).
AUDIENCE: dict[str, frozenset[str] | None] = {
    Category.SECURITY: None,
    Category.LEGAL: None,
    Category.KYC: frozenset({Role.INVESTOR, Role.COMPLIANCE_OFFICER}),
    Category.ORDERS: frozenset({Role.INVESTOR}),
    Category.INCOME: frozenset({Role.INVESTOR}),
    Category.CLINIC_STATEMENTS: frozenset({Role.CLINIC_ADMIN}),
    Category.MARKET: frozenset({Role.INVESTOR, Role.PLATFORM_ADMIN, Role.COMPLIANCE_OFFICER}),
    Category.DEVICES: frozenset({Role.CLINIC_ADMIN}),
    Category.DEVICE_REVIEWS: frozenset({Role.APPRAISER, Role.INSPECTOR, Role.CLINIC_ADMIN, Role.CLINIC_STAFF}),
    Category.OFFERINGS: frozenset({Role.CLINIC_ADMIN, Role.PLATFORM_ADMIN, Role.COMPLIANCE_OFFICER}),
}


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

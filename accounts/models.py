"""The user (signs in by email), organizations (clinics and the platform) and role memberships."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.models import BaseModel
from core.roles import CLINIC_ROLES, Role
from core.timefmt import validate_time_zone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Signs in with an email address. Roles come from memberships."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    welcome_sent_at = models.DateTimeField(null=True, blank=True)
    # IANA name; pages, emails and statements show times in it (stored times stay UTC).
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # The language the user chose with the switcher; blank = not chosen (cookie / browser decide).
    language = models.CharField(max_length=10, blank=True, default="", choices=settings.LANGUAGES)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name or self.email).split(" ")[0]


class Organization(BaseModel):
    class Kind(models.TextChoices):
        CLINIC = "clinic", gettext_lazy("Clinic")
        PLATFORM = "platform", gettext_lazy("Platform")

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    country = models.CharField(max_length=2, blank=True, help_text=gettext_lazy("ISO 3166-1 alpha-2"))
    city = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "kind"], name="uniq_organization_name_kind"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(BaseModel):
    """A user's role, within an organization for clinic and platform roles; investors have
    no organization."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "role"], name="uniq_membership_user_org_role"
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(organization__isnull=True),
                name="uniq_membership_user_role_no_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}" + (
            f" @ {self.organization}" if self.organization_id else ""
        )

    def clean(self):
        if self.role in CLINIC_ROLES:
            if self.organization is None or self.organization.kind != Organization.Kind.CLINIC:
                raise ValidationError({"organization": "Clinic roles belong to a clinic."})
        elif self.role == Role.INVESTOR:
            if self.organization_id is not None:
                raise ValidationError({"organization": "Investors do not belong to an organization."})
        elif self.organization is None or self.organization.kind != Organization.Kind.PLATFORM:
            raise ValidationError({"organization": "Platform roles belong to the platform."})

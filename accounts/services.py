"""Account writes: investor and clinic signup, memberships, clinic team invites and removals,
profile, time zone, language and password. Audited."""

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext
from rest_framework.authtoken.models import Token

from accounts.models import Membership, Organization, User
from core.errors import ApplicationError
from core.permissions import Role, user_has_role
from core.services import audit, snapshot
from core.tasks import enqueue_on_commit


def _new_user(*, email: str, password: str, full_name: str) -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ApplicationError(
            "email_taken", gettext("An account with this email already exists."),
            details={"email": [gettext("An account with this email already exists.")]}, status=409,
        )
    return User.objects.create_user(email=email, password=password, full_name=full_name)


def _schedule_welcome(user: User) -> None:
    enqueue_on_commit("accounts.tasks.user_welcome_send", user.pk)


@transaction.atomic
def investor_signup(*, email: str, password: str, full_name: str) -> User:
    user = _new_user(email=email, password=password, full_name=full_name)
    membership = Membership(user=user, role=Role.INVESTOR)
    membership.full_clean()
    membership.save()
    audit(actor=user, action="accounts.investor_signup", obj=user, after={"email": user.email})
    _schedule_welcome(user)
    return user


@transaction.atomic
def clinic_signup(
    *, email: str, password: str, full_name: str, clinic_name: str, country: str = "", city: str = ""
) -> User:
    if Organization.objects.filter(name__iexact=clinic_name, kind=Organization.Kind.CLINIC).exists():
        raise ApplicationError(
            "clinic_exists", gettext("A clinic with this name is already registered. "
            "Ask its administrator to invite you."),
            details={"clinic_name": [gettext("A clinic with this name is already registered.")]}, status=409,
        )
    user = _new_user(email=email, password=password, full_name=full_name)
    org = Organization(name=clinic_name, kind=Organization.Kind.CLINIC, country=country, city=city)
    org.full_clean()
    org.save()
    membership = Membership(user=user, organization=org, role=Role.CLINIC_ADMIN)
    membership.full_clean()
    membership.save()
    audit(actor=user, action="accounts.clinic_signup", obj=org,
          after={"clinic": org.name, "admin": user.email})
    _schedule_welcome(user)
    return user


@transaction.atomic
def membership_grant(*, actor, user: User, role: str, organization: Organization | None) -> Membership:
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, role=role
    )
    if created:
        membership.full_clean()
        audit(actor=actor, action="accounts.membership_grant", obj=membership,
              after={"user": user.email, "role": role,
                     "organization": organization.name if organization else None})
    return membership


def _clinic_admin_check(actor: User, organization: Organization) -> None:
    if not user_has_role(actor, Role.CLINIC_ADMIN, organization=organization):
        raise ApplicationError("permission_denied", gettext("Only the clinic's admins manage its team."), status=403)


@transaction.atomic
def clinic_member_invite(*, actor: User, organization: Organization, email: str, full_name: str,
                         role: str = Role.CLINIC_STAFF) -> Membership:
    """Add someone to a clinic. A new person gets an account with no usable password and an
    email with a link to choose one (the password-reset token), so no password travels."""
    _clinic_admin_check(actor, organization)
    if role not in (Role.CLINIC_ADMIN, Role.CLINIC_STAFF):
        raise ApplicationError("invalid_role", gettext("Clinic members are clinic admins or clinic staff."),
                               details={"role": [gettext("Choose clinic admin or clinic staff.")]})
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(email=email, password=None, full_name=full_name)
    elif Membership.objects.filter(user=user, organization=organization).exists():
        raise ApplicationError("already_member", gettext("%(email)s is already on this clinic's team.") %
            {"email": email},
                               details={"email": [gettext("Already on this clinic's team.")]}, status=409)
    membership = membership_grant(actor=actor, user=user, role=role, organization=organization)
    audit(actor=actor, action="accounts.clinic_member_invite", obj=membership,
          after={"email": email, "role": role, "clinic": organization.name, "new_account": created})
    enqueue_on_commit("accounts.tasks.clinic_invite_send", membership.pk, created)
    return membership


@transaction.atomic
def clinic_member_remove(*, actor: User, membership: Membership, reason: str = "") -> None:
    organization = membership.organization
    if organization is None or organization.kind != Organization.Kind.CLINIC:
        raise ApplicationError("not_found", gettext("No such clinic member."), status=404)
    _clinic_admin_check(actor, organization)
    admins = Membership.objects.select_for_update().filter(organization=organization, role=Role.CLINIC_ADMIN)
    if membership.role == Role.CLINIC_ADMIN and admins.count() <= 1:
        raise ApplicationError("last_admin", gettext("A clinic keeps at least one admin: add another admin first."),
                               status=409)
    before = {"email": membership.user.email, "role": membership.role, "clinic": organization.name}
    membership.delete()
    audit(actor=actor, action="accounts.clinic_member_remove", obj=organization, before=before, reason=reason)


@transaction.atomic
def profile_update(*, actor: User, user: User, full_name: str, time_zone: str | None = None) -> User:
    fields = ["full_name"] if time_zone is None else ["full_name", "time_zone"]
    before = snapshot(user, fields)
    user.full_name = full_name
    if time_zone is not None:
        user.time_zone = time_zone
    user.full_clean(exclude=["password"])
    user.save(update_fields=fields)
    audit(actor=actor, action="accounts.profile_update", obj=user, before=before,
          after=snapshot(user, fields))
    return user


@transaction.atomic
def user_set_time_zone(*, actor: User, user: User, time_zone: str) -> User:
    """The IANA zone pages, emails and statements use for this user; an unknown name is refused
    (ValidationError from the field's validator) and nothing is saved."""
    if actor.pk != user.pk and not actor.is_superuser:
        raise ApplicationError("permission_denied", gettext("You can only change your own time zone."), status=403)
    before = snapshot(user, ["time_zone"])
    user.time_zone = time_zone
    user.full_clean(exclude=["password"])
    user.save(update_fields=["time_zone"])
    audit(actor=actor, action="accounts.time_zone_set", obj=user, before=before,
          after=snapshot(user, ["time_zone"]))
    return user


@transaction.atomic
def user_set_language(*, actor: User, user: User, language: str) -> User:
    """The language pages, emails and PDFs use for this user (one of settings.LANGUAGES; "" clears
    the choice so the browser's language applies again). An unknown code is refused, nothing saved."""
    if actor.pk != user.pk and not actor.is_superuser:
        raise ApplicationError("permission_denied", gettext("You can only change your own language."),
                               status=403)
    if language and language not in dict(settings.LANGUAGES):
        message = gettext("Choose one of the languages offered.")
        raise ApplicationError("invalid_language", message, details={"language": [message]})
    if user.language == language:
        return user
    before = snapshot(user, ["language"])
    user.language = language
    user.full_clean(exclude=["password"])
    user.save(update_fields=["language"])
    audit(actor=actor, action="accounts.language_set", obj=user, before=before,
          after=snapshot(user, ["language"]))
    return user


def _set_password(*, user: User, new_password: str) -> None:
    """Django's password validators (a failure is a 400 validation_error under
    details.new_password), then the new hash; every API token of the user is revoked, since a
    password changed because it leaked must take a stolen token with it."""
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise ApplicationError("validation_error", gettext("The request is invalid."),
                               details={"new_password": exc.messages}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    Token.objects.filter(user=user).delete()


@transaction.atomic
def password_change(*, actor: User, user: User, current_password: str, new_password: str) -> User:
    """A signed-in user changes their own password, proving the current one first. The caller
    keeps its own session (update_session_auth_hash); other sessions and API tokens end."""
    if actor.pk != user.pk:
        raise ApplicationError("permission_denied", gettext("You can only change your own password."), status=403)
    if not user.check_password(current_password):
        message = gettext("Your current password is wrong.")
        raise ApplicationError("invalid_password", message, details={"current_password": [message]})
    _set_password(user=user, new_password=new_password)
    # Never the password or its hash in the trail: only that it changed, and how.
    audit(actor=actor, action="accounts.password_change", obj=user, after={"how": "current_password"})
    return user


@transaction.atomic
def password_reset_complete(*, user: User, new_password: str) -> User:
    """The emailed one-time link (its token checked by the caller) sets a new password."""
    _set_password(user=user, new_password=new_password)
    audit(actor=user, action="accounts.password_change", obj=user, after={"how": "reset_link"})
    return user


def user_from_reset_link(*, uid: str, token: str) -> User | None:
    """The user an emailed reset link names, when its one-time token is still good; else None."""
    try:
        pk = urlsafe_base64_decode(uid).decode()
        user = User.objects.filter(pk=int(pk), is_active=True).first()
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError):
        return None
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user

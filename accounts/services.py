from django.db import transaction

from accounts.models import Membership, Organization, User
from core.errors import ApplicationError
from core.permissions import Role
from core.services import audit, snapshot
from core.tasks import enqueue_on_commit


def _new_user(*, email: str, password: str, full_name: str) -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ApplicationError(
            "email_taken", "An account with this email already exists.",
            details={"email": ["An account with this email already exists."]}, status=409,
        )
    return User.objects.create_user(email=email, password=password, full_name=full_name)


def _schedule_welcome(user: User) -> None:
    from accounts.tasks import user_welcome_send

    enqueue_on_commit(user_welcome_send, user.pk)


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
            "clinic_exists", "A clinic with this name is already registered. "
            "Ask its administrator to invite you.",
            details={"clinic_name": ["A clinic with this name is already registered."]}, status=409,
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


@transaction.atomic
def clinic_staff_invite(*, actor: User, organization: Organization, email: str, full_name: str,
                        password: str, role: str = Role.CLINIC_STAFF) -> User:
    from core.permissions import user_has_role

    if not user_has_role(actor, Role.CLINIC_ADMIN, organization=organization):
        raise ApplicationError("permission_denied", "Only the clinic's admin can add staff.", status=403)
    if role not in (Role.CLINIC_ADMIN, Role.CLINIC_STAFF):
        raise ApplicationError("invalid_role", "Clinic members are clinic admins or clinic staff.")
    user = User.objects.filter(email__iexact=email).first() or _new_user(
        email=email, password=password, full_name=full_name
    )
    membership_grant(actor=actor, user=user, role=role, organization=organization)
    return user


@transaction.atomic
def profile_update(*, actor: User, user: User, full_name: str) -> User:
    before = snapshot(user, ["full_name"])
    user.full_name = full_name
    user.full_clean(exclude=["password"])
    user.save(update_fields=["full_name"])
    audit(actor=actor, action="accounts.profile_update", obj=user, before=before,
          after=snapshot(user, ["full_name"]))
    return user

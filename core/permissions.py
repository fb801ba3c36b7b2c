"""Role checks in one place: views, APIs and selectors all ask here."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from core.roles import CLINIC_ROLES, PLATFORM_ROLES, Role

__all__ = ["CLINIC_ROLES", "PLATFORM_ROLES", "HasRole", "Role", "RoleRequiredMixin", "role_required",
           "user_clinic_ids", "user_has_role", "user_roles"]


def _memberships(user) -> list[tuple[str, int | None]]:
    # Cached on the user object for the request: nav, views and selectors all ask.
    cached = getattr(user, "_medrwa_memberships", None)
    if cached is None:
        cached = list(user.memberships.values_list("role", "organization_id"))
        user._medrwa_memberships = cached
    return cached


def user_roles(user) -> set[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    roles = {role for role, _ in _memberships(user)}
    if user.is_superuser:
        roles.add(Role.PLATFORM_ADMIN)
    return roles


def user_has_role(user, *roles: str, organization=None) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if organization is None:
        return bool(user_roles(user) & set(roles))
    org_id = getattr(organization, "pk", organization)
    return any(role in roles and oid == org_id for role, oid in _memberships(user))


def user_clinic_ids(user, *, roles=CLINIC_ROLES) -> set[int]:
    """Organizations the user works for as clinic admin/staff (object-level scoping)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return {oid for role, oid in _memberships(user) if role in roles and oid is not None}


def role_required(*roles: str):
    """View decorator: anonymous → login page; signed in without the role → 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_has_role(request.user, *roles):
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class RoleRequiredMixin:
    required_roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_has_role(request.user, *self.required_roles):
            raise PermissionDenied("Your role does not allow this page.")
        return super().dispatch(request, *args, **kwargs)


class HasRole(BasePermission):
    """DRF: `permission_classes = [HasRole.of(Role.APPRAISER)]`."""

    roles: tuple[str, ...] = ()
    message = "Your role does not allow this action."

    @classmethod
    def of(cls, *roles: str) -> type["HasRole"]:
        return type(f"HasRole_{'_'.join(roles)}", (cls,), {"roles": roles})

    def has_permission(self, request, view) -> bool:
        return user_has_role(request.user, *self.roles)

"""Account pages: signup (investor or clinic), profile, password change, the language switcher,
and a clinic admin's team page."""

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts import services, throttling
from accounts.forms import ClinicSignupForm, InvestorSignupForm, PasswordChangeForm, ProfileForm, TeamInviteForm
from accounts.models import Membership, Organization
from core.errors import ApplicationError
from core.forms import add_application_error
from core.permissions import Role, role_required, user_clinic_ids, user_has_role


def signup(request):
    return render(request, "accounts/signup_choice.html")


def signup_investor(request):
    form = InvestorSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.investor_signup(
                email=form.cleaned_data["email"], password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, gettext("Welcome! Next step: complete your investor profile and KYC."))
            return redirect("core:dashboard")
    return render(request, "accounts/signup.html", {"form": form, "kind": "investor"})


def signup_clinic(request):
    form = ClinicSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = services.clinic_signup(
                email=d["email"], password=d["password1"], full_name=d["full_name"],
                clinic_name=d["clinic_name"], country=d["country"], city=d["city"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, gettext('%(d)s is registered. Next step: list a device.') %
                {"d": d['clinic_name']})
            return redirect("core:dashboard")
    return render(request, "accounts/signup.html", {"form": form, "kind": "clinic"})


@login_required
def profile(request):
    form = ProfileForm(request.POST or None,
                       initial={"full_name": request.user.full_name, "time_zone": request.user.time_zone})
    if request.method == "POST" and form.is_valid():
        services.profile_update(actor=request.user, user=request.user, full_name=form.cleaned_data["full_name"],
                                time_zone=form.cleaned_data["time_zone"])
        messages.success(request, gettext("Profile saved."))
        return redirect("accounts:profile")
    memberships = request.user.memberships.select_related("organization")
    return render(request, "accounts/profile.html", {
        "form": form, "memberships": memberships,
        "is_clinic_admin": user_has_role(request.user, Role.CLINIC_ADMIN),
    })


@login_required
def password_change(request):
    """Change the password proving the current one. This browser stays signed in; other sessions
    and every API token end (accounts.services.password_change)."""
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = throttling.password_change(request, current_password=form.cleaned_data["current_password"],
                                              new_password=form.cleaned_data["new_password"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, gettext("Password changed"))
            return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})


def _administered_clinic(request) -> Organization:
    """The clinic whose team is shown: ?clinic=<id> among those the user administers."""
    ids = user_clinic_ids(request.user, roles={Role.CLINIC_ADMIN})
    wanted = request.GET.get("clinic") or request.POST.get("clinic")
    if wanted and wanted.isdigit() and int(wanted) in ids:
        return Organization.objects.get(pk=int(wanted))
    return Organization.objects.filter(pk__in=ids).order_by("name").first()


@role_required(Role.CLINIC_ADMIN)
def team(request):
    clinic = _administered_clinic(request)
    form = TeamInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.clinic_member_invite(actor=request.user, organization=clinic, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, gettext('%(cleaned_data)s was added and has been emailed.') %
                {"cleaned_data": form.cleaned_data['email']})
            return redirect(f"{request.path}?clinic={clinic.pk}")
    members = Membership.objects.filter(organization=clinic).select_related("user").order_by("user__email")
    clinics = Organization.objects.filter(pk__in=user_clinic_ids(request.user, roles={Role.CLINIC_ADMIN}))
    return render(request, "accounts/team.html",
                  {"clinic": clinic, "clinics": clinics, "members": members, "form": form})


@require_POST
@role_required(Role.CLINIC_ADMIN)
def team_remove(request, membership_id: int):
    membership = get_object_or_404(
        Membership.objects.select_related("user", "organization"), pk=membership_id,
        organization_id__in=user_clinic_ids(request.user, roles={Role.CLINIC_ADMIN}),
    )
    try:
        services.clinic_member_remove(actor=request.user, membership=membership)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext('%(email)s no longer has access to %(organization)s.') %
            {"email": membership.user.email, "organization": membership.organization})
    return redirect(f"/accounts/team/?clinic={membership.organization_id}")


@require_POST
def set_language(request):
    """The header's language switcher: Django's own set_language (cookie + safe redirect to `next`),
    and for a signed-in user the choice is also saved, so it follows them to other browsers."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated:
        try:
            services.user_set_language(actor=request.user, user=request.user, language=language)
        except ApplicationError as exc:
            # Django's view ignores an unknown code too and just redirects back.
            messages.error(request, exc.message)
    return django_set_language(request)

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts import services
from accounts.forms import ClinicSignupForm, InvestorSignupForm, ProfileForm
from core.errors import ApplicationError
from core.forms import add_application_error
from core.permissions import Role, user_has_role


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
            messages.success(request, "Welcome! Next step: complete your investor profile and KYC.")
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
            messages.success(request, f"{d['clinic_name']} is registered. Next step: list a device.")
            return redirect("core:dashboard")
    return render(request, "accounts/signup.html", {"form": form, "kind": "clinic"})


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, initial={"full_name": request.user.full_name})
    if request.method == "POST" and form.is_valid():
        services.profile_update(actor=request.user, user=request.user, full_name=form.cleaned_data["full_name"])
        messages.success(request, "Profile saved.")
        return redirect("accounts:profile")
    memberships = request.user.memberships.select_related("organization")
    return render(request, "accounts/profile.html", {
        "form": form, "memberships": memberships,
        "is_clinic_admin": user_has_role(request.user, Role.CLINIC_ADMIN),
    })

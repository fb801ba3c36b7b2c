"""Account forms: the throttled email login, investor and clinic signup, profile, password change
and reset, team invitation."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.utils.translation import gettext, gettext_lazy

from accounts import throttling
from accounts.models import User
from accounts.services import password_reset_complete
from core.timefmt import time_zone_choices


class EmailAuthenticationForm(AuthenticationForm):
    """Email login that slows password guessing (accounts.throttling, shared with the API
    token endpoint): once an account or a client address failed too often within the window,
    further attempts are refused unchecked."""

    username = forms.EmailField(
        label=gettext_lazy("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean(self):
        email = self.data.get("username") or ""
        if throttling.login_blocked(email=email, request=self.request):
            raise forms.ValidationError(throttling.LOCKED_MESSAGE, code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            throttling.login_failed(email=email, request=self.request)
            raise


class _SignupBase(forms.Form):
    full_name = forms.CharField(max_length=200, label=gettext_lazy("Full name"))
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(label=gettext_lazy("Password"),
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=gettext_lazy(
                                    "At least 10 characters, not entirely numeric, not a common password."))
    password2 = forms.CharField(label=gettext_lazy("Repeat password"),
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(gettext("An account with this email already exists."))
        return email

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", gettext("The two passwords differ."))
        if p1:
            try:
                password_validation.validate_password(
                    p1, User(email=data.get("email", ""), full_name=data.get("full_name", ""))
                )
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class InvestorSignupForm(_SignupBase):
    pass


class ClinicSignupForm(_SignupBase):
    clinic_name = forms.CharField(max_length=200, label=gettext_lazy("Clinic name"))
    country = forms.CharField(max_length=2, required=False, label=gettext_lazy("Country (ISO code, e.g. US)"))
    city = forms.CharField(max_length=120, required=False)

    def clean_country(self):
        return self.cleaned_data["country"].upper()


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=200, label=gettext_lazy("Full name"))
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"), choices=time_zone_choices,
        help_text=gettext_lazy("Times on pages, in emails and on statements are shown in this zone."),
    )


class PasswordChangeForm(forms.Form):
    """The profile's Change password page. The current password and Django's password rules are
    the service's to check (accounts.services.password_change), the same for the API."""

    current_password = forms.CharField(
        label=gettext_lazy("Old password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}))
    new_password = forms.CharField(
        label=gettext_lazy("New password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("At least 10 characters, not entirely numeric, not a common password."))
    new_password2 = forms.CharField(
        label=gettext_lazy("New password confirmation"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password2") and data["new_password"] != data["new_password2"]:
            self.add_error("new_password2", gettext("The two passwords differ."))
        return data


class AuditedSetPasswordForm(SetPasswordForm):
    """Django's reset-link form, saving through accounts.services (audited, API tokens revoked)
    like the API twin does."""

    def save(self, commit=True):
        return password_reset_complete(user=self.user, new_password=self.cleaned_data["new_password1"])


class TeamInviteForm(forms.Form):
    full_name = forms.CharField(max_length=200, label=gettext_lazy("Full name"))
    email = forms.EmailField(help_text=gettext_lazy("They get an email with a link to choose their password."))
    role = forms.ChoiceField(choices=[("clinic_staff", "Clinic staff"), ("clinic_admin", "Clinic admin")],
                             help_text=gettext_lazy("Admins can also manage the team and the clinic's offerings."))

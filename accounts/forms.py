import hashlib

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache

from accounts.models import User

LOGIN_MAX_FAILURES = 10
LOGIN_WINDOW_SECONDS = 15 * 60


class EmailAuthenticationForm(AuthenticationForm):
    """Email login that slows password guessing: after LOGIN_MAX_FAILURES failures for one
    address (from any client) within the window, further attempts are refused unchecked."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def _key(self) -> str:
        email = (self.data.get("username") or "").strip().lower()
        return "login-failures:" + hashlib.sha256(email.encode()).hexdigest()

    def clean(self):
        if cache.get(self._key(), 0) >= LOGIN_MAX_FAILURES:
            raise forms.ValidationError(
                "Too many failed attempts for this account. Wait 15 minutes or reset your password.",
                code="throttled",
            )
        try:
            return super().clean()
        except forms.ValidationError:
            key = self._key()
            cache.add(key, 0, LOGIN_WINDOW_SECONDS)
            cache.incr(key)
            raise


class _SignupBase(forms.Form):
    full_name = forms.CharField(max_length=200, label="Full name")
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(label="Password",
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text="At least 10 characters, not entirely numeric, not a common password.")
    password2 = forms.CharField(label="Repeat password",
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
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
    clinic_name = forms.CharField(max_length=200, label="Clinic name")
    country = forms.CharField(max_length=2, required=False, label="Country (ISO code, e.g. US)")
    city = forms.CharField(max_length=120, required=False)

    def clean_country(self):
        return self.cleaned_data["country"].upper()


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=200, label="Full name")


class TeamInviteForm(forms.Form):
    full_name = forms.CharField(max_length=200, label="Full name")
    email = forms.EmailField(help_text="They get an email with a link to choose their password.")
    role = forms.ChoiceField(choices=[("clinic_staff", "Clinic staff"), ("clinic_admin", "Clinic admin")],
                             help_text="Admins can also manage the team and the clinic's offerings.")

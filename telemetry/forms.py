"""Telemetry forms: credentials, clearing flags, tariffs, revenue periods, compute tariffs, payer mix."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext, gettext_lazy

from core.money import CURRENCIES


class CredentialIssueForm(forms.Form):
    label = forms.CharField(max_length=80, required=False, help_text=gettext_lazy(
        "Where this key is installed, e.g. CT01 agent."))


class CredentialRevokeForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False)


class FlagClearForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000,
                             help_text=gettext_lazy("Why the event is genuine; recorded in the audit trail."))


class TariffForm(forms.Form):
    cpt_code = forms.RegexField(regex=r"^[0-9A-Za-z]{5}$", label=gettext_lazy("CPT code"), max_length=5,
                                error_messages={"invalid": "A CPT code is 5 letters or digits, e.g. 74177."})
    payer = forms.CharField(max_length=60, initial="default", help_text=gettext_lazy(
        "Who pays the fee, e.g. Medicare."))
    year = forms.IntegerField(min_value=2000, max_value=2100)
    technical_fee = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, label=gettext_lazy(
        "Technical fee"),
                                       help_text=gettext_lazy("Per completed exam (the technical component)."))
    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")


class RevenuePeriodCloseForm(forms.Form):
    period_start = forms.DateField(widget=forms.HiddenInput)


class RevenuePeriodAdjustForm(forms.Form):
    reason = forms.CharField(max_length=1000, help_text=gettext_lazy(
        "What changed since the close, e.g. a flag cleared late."))


class ComputeTariffForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100)
    price_per_gpu_hour = forms.DecimalField(max_digits=12, decimal_places=4, min_value=0, label=gettext_lazy(
        "Price per GPU-hour"))
    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")


class PayerMixForm(forms.Form):
    """One "payer: share" per line, e.g. "Medicare: 60"; the shares sum to 100."""

    shares = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label=gettext_lazy("Payer mix"),
                             help_text=gettext_lazy(
                                 'One "payer: percent" per line, e.g. "Medicare: 60". Shares sum to 100.'))

    def clean_shares(self):
        out = []
        for n, raw in enumerate(self.cleaned_data["shares"].splitlines(), start=1):
            if not raw.strip():
                continue
            payer, sep, share = raw.rpartition(":")
            if not sep:
                raise forms.ValidationError(gettext('Line %(n)s: write "payer: percent".') % {"n": n})
            try:
                out.append((payer.strip(), Decimal(share.strip().rstrip("%").strip())))
            except InvalidOperation:
                raise forms.ValidationError(f"Line {n}: {share.strip()!r} is not a number.") from None
        return out

from django import forms

from core.money import CURRENCIES


class CredentialIssueForm(forms.Form):
    label = forms.CharField(max_length=80, required=False, help_text="Where this key is installed, e.g. CT01 agent.")


class CredentialRevokeForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False)


class FlagClearForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000,
                             help_text="Why the event is genuine; recorded in the audit trail.")


class TariffForm(forms.Form):
    cpt_code = forms.RegexField(regex=r"^[0-9A-Za-z]{5}$", label="CPT code", max_length=5,
                                error_messages={"invalid": "A CPT code is 5 letters or digits, e.g. 74177."})
    payer = forms.CharField(max_length=60, initial="default", help_text="Who pays the fee, e.g. Medicare.")
    year = forms.IntegerField(min_value=2000, max_value=2100)
    technical_fee = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, label="Technical fee",
                                       help_text="Per completed exam (the technical component).")
    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")


class RevenuePeriodCloseForm(forms.Form):
    period_start = forms.DateField(widget=forms.HiddenInput)

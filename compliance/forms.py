"""Compliance forms: investor profile, wallet linking, KYC documents, officers' decisions, queue filter, erasure."""

import pycountry
from django import forms
from django.utils.translation import gettext_lazy

from compliance.models import InvestorProfile, KycCase, KycDocument

COUNTRIES = [("", "—"), *sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])]
CURRENCIES = [("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP"), ("CHF", "CHF"), ("SGD", "SGD")]


class InvestorProfileForm(forms.Form):
    legal_name = forms.CharField(label=gettext_lazy("Legal name"), max_length=200,
                                 help_text=gettext_lazy("As it appears on your identity document."))
    date_of_birth = forms.DateField(label=gettext_lazy("Date of birth"), widget=forms.DateInput(attrs={"type": "date"}))
    residence_country = forms.ChoiceField(label=gettext_lazy("Country of residence"), choices=COUNTRIES)
    address = forms.CharField(label=gettext_lazy("Residential address"), widget=forms.Textarea(attrs={"rows": 3}))
    investor_type = forms.ChoiceField(label=gettext_lazy("Investor type"), choices=InvestorProfile.InvestorType.choices)
    accreditation_basis = forms.ChoiceField(label=gettext_lazy("Accreditation basis"),
                                            choices=[("", "—"), *InvestorProfile.Accreditation.choices])
    accreditation_detail = forms.CharField(label=gettext_lazy("Accreditation details"), max_length=200, required=False,
                                           help_text=gettext_lazy("E.g. licence number, or how you meet the test."))
    tax_residence = forms.ChoiceField(label=gettext_lazy("Tax residence"), choices=COUNTRIES)
    is_pep = forms.BooleanField(label=gettext_lazy("I am a politically exposed person (or a close associate of one)"),
                                required=False)
    intended_amount = forms.DecimalField(label=gettext_lazy("Amount you intend to invest"), max_digits=14,
        decimal_places=2,
                                         min_value=0)
    intended_currency = forms.ChoiceField(label=gettext_lazy("Currency"), choices=CURRENCIES)


class WalletAddressForm(forms.Form):
    address = forms.CharField(label=gettext_lazy("Wallet address"), max_length=42,
                              help_text=gettext_lazy("The 0x… address of a wallet you control (e.g. MetaMask)."))


class WalletSignatureForm(forms.Form):
    message = forms.CharField(label=gettext_lazy("Message to sign"), widget=forms.Textarea(attrs={"rows": 12,
        "readonly": True}))
    signature = forms.CharField(label=gettext_lazy("Signature"), max_length=200,
                                help_text=gettext_lazy("The 0x… signature your wallet produced for the message above."))


class DocumentUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Document type"), choices=KycDocument.Kind.choices)
    file = forms.FileField(label=gettext_lazy("File"), help_text=gettext_lazy("PDF, PNG or JPEG. Stored encrypted."))


class DecisionForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=gettext_lazy("Required to reject, request information or revoke."))


class HitClearForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why is this a false positive?"), widget=forms.Textarea(
        attrs={"rows": 2}))


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[("", "Waiting (submitted, in review, approved on hold)"),
                                        *[c for c in KycCase.Status.choices if c[0] != "draft"]])
    country = forms.ChoiceField(label=gettext_lazy("Country"), required=False, choices=COUNTRIES)
    risk = forms.ChoiceField(label=gettext_lazy("Risk"), required=False, choices=[("", "Any"), *KycCase.Risk.choices])
    hits = forms.ChoiceField(label=gettext_lazy("Sanctions hits"), required=False,
                             choices=[("", "Any"), ("open", "Open hits"), ("none", "No open hits")])


class ErasureForm(forms.Form):
    confirm = forms.BooleanField(label=gettext_lazy(
        "I understand that my account will be restricted and can no longer invest"))

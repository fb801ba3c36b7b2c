"""Offerings' forms: offering terms, clinic consent, officers' token actions."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext, gettext_lazy

from tokens.models import AgentActionKind
from tokens.offerings.selectors import devices_ready_to_tokenize


class OfferingForm(forms.Form):
    device = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Certified device"))
    token_name = forms.CharField(max_length=60)
    token_symbol = forms.CharField(max_length=11, help_text=gettext_lazy("2–11 capital letters or digits."))
    units = forms.IntegerField(min_value=1, help_text=gettext_lazy("Whole token units (one unit = one fraction)."))
    price_per_unit = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    currency = forms.ChoiceField(choices=[("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP"), ("CHF", "CHF")])
    share_offered_pct = forms.DecimalField(label=gettext_lazy("Share offered (%)"), min_value=0, max_value=100,
        decimal_places=2)
    allowed_countries = forms.CharField(
        required=False, label=gettext_lazy("Allowed investor countries"),
        help_text=gettext_lazy("ISO 3166-1 numeric codes, comma separated (e.g. 276, 250). Empty = any country."))
    max_per_investor = forms.IntegerField(min_value=1, label=gettext_lazy("Max units per investor"))
    holder_cap = forms.IntegerField(min_value=1, label=gettext_lazy("Maximum number of holders"))
    lockup_until = forms.DateField(required=False, label=gettext_lazy("Lock-up until"),
                                   widget=forms.DateInput(attrs={"type": "date"}))
    revenue_share_pct = forms.DecimalField(label=gettext_lazy("Holders' share of gross revenue (%)"),
                                           min_value=0, max_value=100, decimal_places=2)
    # xgettext:no-python-format
    platform_fee_pct = forms.DecimalField(label=gettext_lazy("Platform fee (% of gross)"), min_value=0, max_value=100,
                                          decimal_places=2, initial=Decimal("5.00"))
    # xgettext:no-python-format
    reserve_pct = forms.DecimalField(label=gettext_lazy("Maintenance reserve (% of gross)"), min_value=0, max_value=100,
                                     decimal_places=2, initial=Decimal("5.00"))
    reserve_target = forms.DecimalField(
        label=gettext_lazy("Reserve target"), min_value=0, max_digits=14, decimal_places=2, initial=Decimal("0.00"),
        # xgettext:no-python-format
        help_text=gettext_lazy("The reserve stops growing at this amount; its share then goes to the holders. "
                  "Imaging service contracts run about 10% of the purchase price a year."))
    clinic_share_pct = forms.DecimalField(
        # xgettext:no-python-format
        label=gettext_lazy("Clinic's operating share (% of gross)"), min_value=0, max_value=100, decimal_places=2,
        # xgettext:no-python-format
        help_text=gettext_lazy("Fee, reserve, clinic and holders' shares must add up to 100%."))
    includes_compute_revenue = forms.BooleanField(
        required=False, label=gettext_lazy("Include compute revenue (idle GPU time sold) in gross"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["device"].queryset = devices_ready_to_tokenize()

    def clean_allowed_countries(self):
        raw = self.cleaned_data["allowed_countries"].replace(";", ",")
        try:
            return [int(p) for p in (s.strip() for s in raw.split(",")) if p]
        except ValueError:
            raise forms.ValidationError(gettext("Use numbers, comma separated.")) from None


class AgentActionForm(forms.Form):
    kind = forms.ChoiceField(choices=AgentActionKind.choices, label=gettext_lazy("Action"))
    wallet = forms.CharField(required=False, max_length=42, help_text=gettext_lazy("The investor wallet (0x…)."))
    to_wallet = forms.CharField(required=False, max_length=42, label=gettext_lazy("Destination wallet"),
                                help_text=gettext_lazy("For forced transfers and wallet recovery."))
    amount = forms.IntegerField(required=False, min_value=1, label=gettext_lazy("Units"),
                                help_text=gettext_lazy("For partial freezes and forced transfers."))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=gettext_lazy(
        "Recorded in the audit trail."))


class ConsentForm(forms.Form):
    statement = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                label=gettext_lazy("Consent statement (optional)"))


class OfferingTermsForm(OfferingForm):
    """The offering's terms changed before deployment (the device stays)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["device"]


class PricingAcceptForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                             label=gettext_lazy("Why this pricing is acceptable"),
                             help_text=gettext_lazy("Recorded with the figures you see, your role and the time, "
                                                    "and shown to investors."))

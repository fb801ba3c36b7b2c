from django import forms

from tokens.models import AgentActionKind
from tokens.selectors import devices_ready_to_tokenize


class OfferingForm(forms.Form):
    device = forms.ModelChoiceField(queryset=None, label="Certified device")
    token_name = forms.CharField(max_length=60)
    token_symbol = forms.CharField(max_length=11, help_text="2–11 capital letters or digits.")
    units = forms.IntegerField(min_value=1, help_text="Whole token units (one unit = one fraction).")
    price_per_unit = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    currency = forms.ChoiceField(choices=[("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP"), ("CHF", "CHF")])
    share_offered_pct = forms.DecimalField(label="Share offered (%)", min_value=0, max_value=100, decimal_places=2)
    allowed_countries = forms.CharField(
        required=False, label="Allowed investor countries",
        help_text="ISO 3166-1 numeric codes, comma separated (e.g. 276, 250). Empty = any country.")
    max_per_investor = forms.IntegerField(min_value=1, label="Max units per investor")
    holder_cap = forms.IntegerField(min_value=1, label="Maximum number of holders")
    lockup_until = forms.DateField(required=False, label="Lock-up until",
                                   widget=forms.DateInput(attrs={"type": "date"}))
    revenue_share_pct = forms.DecimalField(label="Revenue share to holders (%)", min_value=0, max_value=100,
                                           decimal_places=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["device"].queryset = devices_ready_to_tokenize()

    def clean_allowed_countries(self):
        raw = self.cleaned_data["allowed_countries"].replace(";", ",")
        try:
            return [int(p) for p in (s.strip() for s in raw.split(",")) if p]
        except ValueError:
            raise forms.ValidationError("Use numbers, comma separated.") from None


class AgentActionForm(forms.Form):
    kind = forms.ChoiceField(choices=AgentActionKind.choices, label="Action")
    wallet = forms.CharField(required=False, max_length=42, help_text="The investor wallet (0x…).")
    to_wallet = forms.CharField(required=False, max_length=42, label="Destination wallet",
                                help_text="For forced transfers and wallet recovery.")
    amount = forms.IntegerField(required=False, min_value=1, label="Units",
                                help_text="For partial freezes and forced transfers.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Recorded in the audit trail.")


class ConsentForm(forms.Form):
    statement = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                label="Consent statement (optional)")


class BuyForm(forms.Form):
    units = forms.IntegerField(min_value=1, label="Units", help_text="Whole units; one unit is one fraction.")

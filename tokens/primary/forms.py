"""The primary sale's forms: buying units of an offering."""

from django import forms
from django.utils.translation import gettext_lazy

from compliance.selectors import investor_wallets


class BuyForm(forms.Form):
    units = forms.IntegerField(min_value=1, label=gettext_lazy("Units"), help_text=gettext_lazy(
        "Whole units; one unit is one fraction."))
    wallet = forms.ChoiceField(required=False, label=gettext_lazy("Destination wallet"), help_text=gettext_lazy(
        "Where the units are minted: your custodial wallet (the platform keeps the key) or one of your linked "
        "self-custody wallets."))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)

        wallets = [w for w in investor_wallets(user=user) if w.registered_on_chain] if user else []
        self.fields["wallet"].choices = [(w.address if w.kind == "self_custody" else "",
                                          f"{w.get_kind_display()} · {w.address}") for w in wallets] or [
            ("", gettext_lazy("Custodial wallet"))]

"""The compliance officer's page for a live token's compliance parameters and allowed
countries (tokens.offerings.compliance_params); API twin in tokens.offerings.compliance_params_api."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy

from core.errors import ApplicationError
from core.forms import add_application_error
from core.permissions import Role, role_required
from tokens.offerings import compliance_params as cp
from tokens.offerings import selectors


class ComplianceParamsForm(forms.Form):
    supply_cap = forms.IntegerField(min_value=1, label=gettext_lazy("Supply cap (units)"))
    max_per_investor = forms.IntegerField(min_value=1, label=gettext_lazy("Max units per wallet"))
    holder_cap = forms.IntegerField(min_value=1, label=gettext_lazy("Maximum number of holders (wallets)"))
    lockup_until = forms.DateField(required=False, label=gettext_lazy("Lock-up until"),
                                   widget=forms.DateInput(attrs={"type": "date"}),
                                   help_text=gettext_lazy("Empty: no lock-up."))
    allowed_countries = forms.CharField(required=False, label=gettext_lazy("Allowed countries"),
                                        help_text=gettext_lazy("ISO 3166-1 numeric codes, comma-separated; "
                                                               "empty: every country."))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=gettext_lazy("Reason"),
                             help_text=gettext_lazy("Required; kept in the audit log."))


@role_required(Role.COMPLIANCE_OFFICER)
def compliance_params(request, pk):
    offering = selectors.offering_get_for_user(user=request.user, offering_id=pk)
    stored = cp.stored_terms(offering)
    initial = {**stored, "allowed_countries": ", ".join(str(c) for c in stored["allowed_countries"])}
    form = ComplianceParamsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            cp.compliance_change_request(actor=request.user, offering=offering, supply_cap=d["supply_cap"],
                                         max_per_investor=d["max_per_investor"], holder_cap=d["holder_cap"],
                                         lockup_until=d["lockup_until"], allowed_countries=d["allowed_countries"],
                                         reason=d["reason"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, gettext(
                "Change sent to the chain; the offering's terms follow once it is confirmed."))
            return redirect("tokens:compliance-params", pk=pk)
    changes = cp.changes_for(offering)
    return render(request, "tokens/compliance_params.html", {
        "offering": offering, "form": form, "stored": stored, "chain": cp.chain_terms(offering),
        "changes": changes})

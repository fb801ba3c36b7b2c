"""Device forms: the device itself, photos and documents, reasons, an appraisal, the inspection checklist."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from assets import services, valuation
from assets.models import Device, DocumentKind, Modality

DATE = forms.DateInput(attrs={"type": "date"})


class DeviceForm(forms.ModelForm):
    class Meta:
        model = Device
        fields = services.EDITABLE_FIELDS
        labels = {
            "model_name": "Model", "udi_raw": "UDI", "purchase_currency": "Currency",
            "fda_510k": "FDA 510(k) number", "eu_mdr_class": "EU MDR class",
            "eu_certificate_number": "EU MDR certificate number", "gpu_model": "GPU model",
            "gpu_count": "GPU count", "gpu_memory_gb": "GPU memory per GPU (GB)",
            "declared_exams_per_day": "Typical exams per day",
        }
        help_texts = {
            "udi_raw": "Scan the barcode, or paste the text under it, e.g. (01)09506000134352(21)SN123, "
                       "or the GS1 Digital Link URL. HIBCC codes (+…) work too.",
            "fda_510k": "K followed by 6 digits, e.g. K183621.",
        }
        widgets = {"manufacture_date": DATE, "purchase_date": DATE,
                   "udi_raw": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
                   "eu_mdr_class": forms.Select(choices=[("", "—"), ("I", "I"), ("IIa", "IIa"),
                                                         ("IIb", "IIb"), ("III", "III")])}

    def __init__(self, *args, clinics=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["modality"].choices = Modality.choices
        if clinics is not None and len(clinics) > 1:
            # Only when registering for one of several clinics: which one owns the device.
            self.fields = {"organization": forms.ModelChoiceField(
                queryset=clinics, label=gettext("Clinic"), empty_label=gettext("— choose the owning clinic —"),
                help_text=gettext("You work for several clinics; the device will belong to this one.")),
                **self.fields}


class PhotoForm(forms.Form):
    image = forms.FileField(label=gettext_lazy("Photo"), help_text=gettext_lazy(
        "JPEG, PNG or WebP. Location data is removed."),
                            widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(choices=DocumentKind.choices, label=gettext_lazy("Document type"))
    file = forms.FileField(label=gettext_lazy("PDF document"), widget=forms.ClearableFileInput(
        attrs={"accept": "application/pdf"}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("What needs to change"), widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=2000)


class AppraisalForm(forms.Form):
    effective_date = forms.DateField(widget=DATE, initial=timezone.localdate)
    currency = forms.ChoiceField(choices=Device._meta.get_field("purchase_currency").choices, initial="USD")
    replacement_cost_new = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2,
                                              label=gettext_lazy("Replacement cost new"))
    useful_life_years = forms.DecimalField(required=False, min_value=1, max_digits=4, decimal_places=1,
                                           label=gettext_lazy("Useful life (years)"),
                                           help_text=gettext_lazy(
                                               "Blank: the modality default (CT 8.2, MR 8.4 — CMII 2022–23)."))
    condition_factor = forms.DecimalField(min_value=0.01, max_value=1, decimal_places=2, initial="1.00",
                                          label=gettext_lazy("Condition factor"))
    obsolescence_fraction = forms.DecimalField(min_value=0, max_value=0.99, decimal_places=2, initial="0",
                                               label=gettext_lazy("Obsolescence (fraction)"))
    salvage_fraction = forms.DecimalField(min_value=0, max_value=1, decimal_places=2,
                                          initial=valuation.DEFAULT_SALVAGE_FRACTION, label=gettext_lazy(
                                              "Salvage floor (fraction)"))
    comparables = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                  label=gettext_lazy("Comparable sales"),
                                  help_text=gettext_lazy("One per line: price; adjustment fraction; description — "
                                            "e.g. 600000; -0.05; 2020 unit, similar hours"))
    utilization_per_day = forms.DecimalField(required=False, min_value=0, decimal_places=1,
                                             label=gettext_lazy("Exams per day"))
    technical_fee_per_exam = forms.DecimalField(required=False, min_value=0, decimal_places=2,
                                                label=gettext_lazy("Technical fee per exam"))
    operating_days_per_year = forms.DecimalField(min_value=0, max_value=366, initial="300",
                                                 label=gettext_lazy("Operating days per year"))
    operating_cost_per_year = forms.DecimalField(min_value=0, decimal_places=2, initial="0",
                                                 label=gettext_lazy("Operating cost per year"))
    discount_rate = forms.DecimalField(min_value=0, max_value=1, decimal_places=4, initial="0.10",
                                       label=gettext_lazy("Discount rate"))
    weight_cost = forms.DecimalField(min_value=0, initial="0.5", label=gettext_lazy("Weight: cost"))
    weight_market = forms.DecimalField(min_value=0, initial="0.3", label=gettext_lazy("Weight: market"))
    weight_income = forms.DecimalField(min_value=0, initial="0.2", label=gettext_lazy("Weight: income"))
    client = forms.CharField(required=False, max_length=200, help_text=gettext_lazy("Blank: the clinic."))
    intended_users = forms.CharField(required=False, max_length=300)
    intended_use = forms.CharField(required=False, max_length=300)
    value_definition = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                       help_text=gettext_lazy("Blank: fair market value in continued use."))

    def clean_comparables(self):
        rows = []
        for n, line in enumerate(self.cleaned_data["comparables"].splitlines(), 1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(";")]
            try:
                price = Decimal(parts[0].replace(",", ""))
                adj = Decimal(parts[1]) if len(parts) > 1 and parts[1] else Decimal(0)
            except InvalidOperation:
                raise forms.ValidationError(gettext('Line %(n)s: write price; adjustment; description.') %
                    {"n": n}) from None
            rows.append({"price": str(price), "adjustment_fraction": str(adj),
                         "description": parts[2] if len(parts) > 2 else ""})
        return rows

    def service_kwargs(self) -> dict:
        d = dict(self.cleaned_data)
        d["weights"] = {"cost": d.pop("weight_cost"), "market": d.pop("weight_market"),
                        "income": d.pop("weight_income")}
        return d


class CertificationForm(forms.Form):
    qa_calibration_date = forms.DateField(required=False, widget=DATE, label=gettext_lazy("Last QA / calibration date"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, english in services.CHECKLIST:
            label = gettext(english)
            self.fields[f"{key}_passed"] = forms.ChoiceField(
                label=label, choices=[("pass", gettext_lazy("Pass")), ("fail", gettext_lazy("Fail"))],
                widget=forms.RadioSelect)
            self.fields[f"{key}_notes"] = forms.CharField(required=False, max_length=1000,
                                                          label=gettext('Notes: %(lower)s') % {"lower": label.lower()})

    def items(self) -> dict:
        return {key: {"passed": self.cleaned_data[f"{key}_passed"] == "pass",
                      "notes": self.cleaned_data[f"{key}_notes"]} for key, _ in services.CHECKLIST}

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
            "modality": gettext_lazy("Modality"), "manufacturer": gettext_lazy("Manufacturer"),
            "model_name": gettext_lazy("Model"), "serial_number": gettext_lazy("Serial number"),
            "udi_raw": gettext_lazy("UDI"), "manufacture_date": gettext_lazy("Manufacture date"),
            "purchase_price": gettext_lazy("Purchase price"), "purchase_currency": gettext_lazy("Currency"),
            "purchase_date": gettext_lazy("Purchase date"), "install_site": gettext_lazy("Install site"),
            "fda_510k": gettext_lazy("FDA 510(k) number"), "eu_mdr_class": gettext_lazy("EU MDR class"),
            "eu_certificate_number": gettext_lazy("EU MDR certificate number"),
            "gpu_model": gettext_lazy("GPU model"), "gpu_count": gettext_lazy("GPU count"),
            "gpu_memory_gb": gettext_lazy("GPU memory per GPU (GB)"),
            "declared_exams_per_day": gettext_lazy("Typical exams per day"),
        }
        help_texts = {
            "udi_raw": gettext_lazy("Scan the barcode, or paste the text under it, e.g. "
                                    "(01)09506000134352(21)SN123, or the GS1 Digital Link URL. HIBCC codes (+…) "
                                    "work too."),
            "fda_510k": gettext_lazy("K followed by 6 digits, e.g. K183621."),
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
    effective_date = forms.DateField(widget=DATE, initial=timezone.localdate, label=gettext_lazy("Effective date"))
    currency = forms.ChoiceField(choices=Device._meta.get_field("purchase_currency").choices, initial="USD",
                                 label=gettext_lazy("Currency"))
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
    client = forms.CharField(required=False, max_length=200, label=gettext_lazy("Client"),
                             help_text=gettext_lazy("Blank: the clinic."))
    intended_users = forms.CharField(required=False, max_length=300, label=gettext_lazy("Intended users"))
    intended_use = forms.CharField(required=False, max_length=300, label=gettext_lazy("Intended use"))
    value_definition = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                       label=gettext_lazy("Value definition"),
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

    @staticmethod
    def initial_from(appraisal) -> dict:
        """A re-appraisal starts from the last signed appraisal's inputs: what its appraiser chose
        or typed. Figures that came from telemetry, the clinic or a default stay blank, so they are
        looked up again rather than frozen as if typed. The effective date is today's."""
        inputs = appraisal.inputs or {}
        cost = inputs.get("cost") or {}
        initial = {"currency": appraisal.currency, "client": appraisal.client,
                   "intended_users": appraisal.intended_users, "intended_use": appraisal.intended_use,
                   "value_definition": appraisal.value_definition}
        for key in ("replacement_cost_new", "condition_factor", "obsolescence_fraction", "salvage_fraction"):
            if cost.get(key) not in (None, ""):
                initial[key] = cost[key]
        if cost.get("useful_life_source") == valuation.SOURCE_APPRAISER:
            initial["useful_life_years"] = cost.get("useful_life_years")
        comps = (inputs.get("market") or {}).get("comparables") or []
        initial["comparables"] = "\n".join(
            "; ".join([str(c.get("price", "")), str(c.get("adjustment_fraction", "0")), str(c.get("description", ""))])
            .rstrip("; ") for c in comps)
        income = inputs.get("income") or {}
        skipped = inputs.get("income_not_used") or {}
        sources = income.get("sources") or {}
        exams_src = sources.get("exams_per_day") or skipped.get("exams_per_day_source") or {}
        fee_src = sources.get("technical_fee_per_exam") or skipped.get("technical_fee_source") or {}
        if exams_src.get("source") == valuation.SOURCE_APPRAISER:
            initial["utilization_per_day"] = income.get("exams_per_day", skipped.get("exams_per_day"))
        if fee_src.get("source") == valuation.SOURCE_APPRAISER:
            initial["technical_fee_per_exam"] = income.get("technical_fee_per_exam",
                                                           skipped.get("technical_fee_per_exam"))
        for key in ("operating_days_per_year", "operating_cost_per_year", "discount_rate"):
            if income.get(key) not in (None, ""):
                initial[key] = income[key]
        weights = inputs.get("weights_requested") or appraisal.weights or {}
        for k in ("cost", "market", "income"):
            if weights.get(k) not in (None, ""):
                initial[f"weight_{k}"] = weights[k]
        return {k: v for k, v in initial.items() if v not in (None, "")}


class CertificationForm(forms.Form):
    qa_calibration_date = forms.DateField(required=False, widget=DATE,
                                          label=gettext_lazy("Date of the last QA / calibration test"))

    def __init__(self, *args, last=None, **kwargs):
        """`last`: the device's previous inspection; a re-inspection starts from it (its QA date,
        the items that passed; an item that failed is left for the inspector to decide again,
        with what was found shown under it)."""
        months = services.qa_max_months()
        self.qa_months = months
        initial = dict(kwargs.pop("initial", None) or {})
        previous = {i.get("key"): i for i in (last.checklist if last is not None else [])}
        if last is not None and last.qa_calibration_date and "qa_calibration_date" not in initial:
            initial["qa_calibration_date"] = last.qa_calibration_date
        for key, _ in services.CHECKLIST:
            if previous.get(key, {}).get("passed"):
                initial.setdefault(f"{key}_passed", "pass")
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["qa_calibration_date"].help_text = gettext(
            "Less than %(months)s months old: %(earliest)s or later. An older date fails the whole "
            "inspection.") % {"months": months, "earliest": services.qa_calibration_earliest_valid().isoformat()}
        # The page's script warns below this date as it is typed (the warning is a live region).
        self.fields["qa_calibration_date"].widget.attrs["data-qa-earliest"] = \
            services.qa_calibration_earliest_valid().isoformat()
        for key, english in services.CHECKLIST:
            label = gettext(english)
            self.fields[f"{key}_passed"] = forms.ChoiceField(
                label=label, choices=[("pass", gettext_lazy("Pass")), ("fail", gettext_lazy("Fail"))],
                widget=forms.RadioSelect)
            was = previous.get(key)
            if was is not None and not was.get("passed"):
                self.fields[f"{key}_passed"].help_text = gettext("Failed at the last inspection: %(notes)s") % {
                    "notes": was.get("notes") or "—"}
            self.fields[f"{key}_notes"] = forms.CharField(required=False, max_length=1000,
                                                          label=gettext("Notes: %(label)s") % {"label": label})

    def qa_problem(self, qa_date) -> str:
        """Why a recorded QA date fails the rule ('' when it does not)."""
        if qa_date is None:
            return gettext("No QA / calibration test date is given: the QA item fails and the device goes back "
                           "to the clinic for a new QA test. Enter the date of the last test.")
        if services.qa_calibration_expired(qa_date):
            return gettext(
                "This QA / calibration test (%(date)s) is older than the %(months)s months the rule allows (the "
                "oldest accepted date today is %(earliest)s). Recorded as it is, the QA item fails and with it "
                "the whole inspection: the device goes back to the clinic for a new QA test and is then appraised "
                "and inspected again.") % {"date": qa_date.isoformat(), "months": self.qa_months,
                                          "earliest": services.qa_calibration_earliest_valid().isoformat()}
        return ""

    def clean(self):
        data = super().clean()
        qa_date = data.get("qa_calibration_date")
        if "qa_calibration_date" in self.errors or data.get("qa_calibration_passed") != "pass":
            return data  # a failed QA item with an old date is what the inspector means: it is recorded
        problem = self.qa_problem(qa_date)
        if problem:
            self.add_error("qa_calibration_date", problem + " " + gettext(
                "Correct the date if a newer test exists, or mark the QA item as failed to send the device back."))
        return data

    def items(self) -> dict:
        return {key: {"passed": self.cleaned_data[f"{key}_passed"] == "pass",
                      "notes": self.cleaned_data[f"{key}_notes"]} for key, _ in services.CHECKLIST}

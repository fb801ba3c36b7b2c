"""Web pages. Thin: selectors decide what a user may see (404 otherwise), services decide
what they may do (ApplicationError → shown on the form or as a message)."""

import json
import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts.models import Organization
from assets import selectors, services, throttle, usage, valuation
from assets.forms import (
    AppraisalForm,
    CertificationForm,
    DeviceForm,
    DocumentForm,
    PhotoForm,
    ReasonForm,
)
from assets.models import AnchorStatus, DeviceStatus, Modality
from core.errors import ApplicationError
from core.forms import add_application_error
from core.money import format_money
from core.permissions import CLINIC_ROLES, Role, role_required, user_clinic_ids, user_has_role

LIST_ROLES = (*CLINIC_ROLES, *selectors.REVIEWER_ROLES)
PAGE_SIZE = 100


def _file_response(fieldfile, *, filename: str, content_type: str | None = None):
    resp = FileResponse(fieldfile.open("rb"), content_type=content_type
                        or mimetypes.guess_type(filename)[0] or "application/octet-stream")
    resp["Content-Disposition"] = f'inline; filename="{filename}"'
    resp["Cache-Control"] = "private, no-store"
    return resp


# --- list, create, edit --------------------------------------------------------------------

@role_required(*LIST_ROLES)
def device_list(request):
    f = request.GET
    qs = selectors.device_list_for_user(user=request.user, status=f.get("status", ""),
                                        modality=f.get("modality", ""), q=f.get("q", "").strip())
    page = Paginator(qs, PAGE_SIZE).get_page(f.get("page"))
    query = f.copy()
    query.pop("page", None)
    return render(request, "assets/device_list.html", {
        "page": page, "filters": {k: f.get(k, "") for k in ("status", "modality", "q")}, "query": query.urlencode(),
        "statuses": DeviceStatus.choices,
        "modalities": Modality.choices, "can_register": bool(user_clinic_ids(request.user)),
    })


@role_required(*CLINIC_ROLES)
def device_create(request):
    clinics = selectors.registration_clinics_for_user(user=request.user)
    form = DeviceForm(request.POST or None, clinics=clinics)
    if request.method == "POST" and form.is_valid():
        try:
            chosen = form.cleaned_data.get("organization")
            clinic = selectors.registration_clinic_for_user(user=request.user,
                                                            organization_id=chosen.pk if chosen else None)
            device = services.device_create(actor=request.user, organization=clinic, data=form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            for w in device.udi_warnings:
                messages.warning(request, w)
            messages.success(request, gettext("Device saved as a draft. Add photos and documents, then submit it."))
            return redirect("assets:device-detail", pk=device.pk)
    return render(request, "assets/device_form.html", {"form": form, "title": gettext("Register a device")},
                  status=400 if form.errors else 200)


@login_required
def device_edit(request, pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    if not selectors.user_is_device_member(user=request.user, device=device):
        raise Http404
    if not device.is_editable:
        messages.error(request, gettext("This device has been submitted and is read-only until a reviewer "
                                "requests changes."))
        return redirect("assets:device-detail", pk=device.pk)
    form = DeviceForm(request.POST or None, instance=device)
    if request.method == "POST" and form.is_valid():
        try:
            services.device_update(actor=request.user, device=device, data=form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            device.refresh_from_db()
            for w in device.udi_warnings:
                messages.warning(request, w)
            messages.success(request, gettext("Device updated."))
            return redirect("assets:device-detail", pk=device.pk)
    return render(request, "assets/device_form.html", {"form": form, "device": device,
                                                       "title": gettext("Edit %(device)s") % {"device": device}},
                  status=400 if form.errors else 200)


# --- detail --------------------------------------------------------------------------------

def _render_detail(request, device, *, forms=None, status=200):
    user = request.user
    is_member = selectors.user_is_device_member(user=user, device=device)
    appraisal = selectors.device_signed_appraisal(device=device)
    in_review = device.status in (DeviceStatus.SUBMITTED, DeviceStatus.APPRAISED)
    ctx = {
        "device": device, "is_member": is_member,
        "photos": list(device.photos.all()), "documents": list(device.documents.all()),
        "appraisal": appraisal,
        "draft_appraisals": list(device.appraisals.filter(status="draft", appraiser=user)),
        "certification": selectors.device_current_certification(device=device),
        "timeline": list(selectors.device_timeline(device=device)),
        "chart": selectors.depreciation_chart_data(device, appraisal),
        "can_edit": is_member and device.is_editable,
        "can_retire": device.status != DeviceStatus.RETIRED and DeviceStatus.RETIRED in services.TRANSITIONS[
            device.status] and (user_has_role(user, Role.CLINIC_ADMIN, organization=device.organization)
                                or user_has_role(user, Role.PLATFORM_ADMIN)),
        "can_review": in_review and user_has_role(user, Role.APPRAISER, Role.INSPECTOR, Role.PLATFORM_ADMIN),
        "can_appraise": in_review and user_has_role(user, Role.APPRAISER),
        "can_inspect": device.status == DeviceStatus.APPRAISED and user_has_role(user, Role.INSPECTOR),
        "anchor_retry": selectors.device_anchor_retry_state(device=device),
        "can_retry_anchor": device.anchor_status == AnchorStatus.FAILED
        and device.status in (DeviceStatus.CERTIFIED, DeviceStatus.TOKENIZED)
        and user_has_role(user, Role.PLATFORM_ADMIN, Role.INSPECTOR),
        "photo_form": PhotoForm(), "document_form": DocumentForm(), "reason_form": ReasonForm(),
        "today": timezone.localdate(),
    }
    ctx.update(forms or {})
    return render(request, "assets/device_detail.html", ctx, status=status)


@login_required
def device_detail(request, pk):
    return _render_detail(request, selectors.device_get_for_user(user=request.user, device_id=pk))


@login_required
@require_POST
def device_submit(request, pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    try:
        services.device_submit(actor=request.user, device=device)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Submitted for appraisal. The device is read-only while it is reviewed."))
    return redirect("assets:device-detail", pk=device.pk)


@login_required
@require_POST
def device_retire(request, pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    try:
        services.device_retire(actor=request.user, device=device, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Device retired."))
    return redirect("assets:device-detail", pk=device.pk)


@login_required
@require_POST
def device_request_changes(request, pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.device_request_changes(actor=request.user, device=device,
                                            reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, gettext("Changes requested; the clinic can edit and resubmit."))
            return redirect("assets:device-detail", pk=device.pk)
    return _render_detail(request, device, forms={"reason_form": form}, status=400)


@login_required
@require_POST
def photo_add(request, pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.device_photo_add(actor=request.user, device=device, upload=form.cleaned_data["image"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, gettext("Photo added."))
            return redirect("assets:device-detail", pk=device.pk)
    return _render_detail(request, device, forms={"photo_form": form}, status=400)


@login_required
@require_POST
def document_add(request, pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.device_document_add(actor=request.user, device=device, upload=form.cleaned_data["file"],
                                         kind=form.cleaned_data["kind"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, gettext("Document added."))
            return redirect("assets:device-detail", pk=device.pk)
    return _render_detail(request, device, forms={"document_form": form}, status=400)


@login_required
def photo_file(request, pk, photo_pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    photo = get_object_or_404(device.photos, pk=photo_pk)
    thumb = request.GET.get("size") == "thumb"
    return _file_response(photo.thumbnail if thumb else photo.image,
                          filename=f"device-{device.pk}-photo-{photo.pk}{'-thumb' if thumb else ''}.jpg",
                          content_type="image/jpeg")


@login_required
def document_file(request, pk, doc_pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    doc = get_object_or_404(device.documents, pk=doc_pk)
    return _file_response(doc.file, filename=f"device-{device.pk}-{doc.kind}-{doc.pk}.pdf",
                          content_type="application/pdf")


# --- appraisal -----------------------------------------------------------------------------

@role_required(Role.APPRAISER, Role.PLATFORM_ADMIN)
def appraisal_queue(request):
    f = request.GET
    qs = selectors.appraisal_queue(modality=f.get("modality", ""), clinic_id=f.get("clinic") or None)
    return render(request, "assets/queue.html", {
        "title": gettext("Appraisal queue"), "page": Paginator(qs, PAGE_SIZE).get_page(f.get("page")),
        "filters": f, "modalities": Modality.choices, "action": gettext("Appraise"), "action_url": "assets:appraise",
        # Platform admins oversee the queue; only an appraiser appraises (the page refuses anyone else).
        "can_act": user_has_role(request.user, Role.APPRAISER),
        "clinics": Organization.objects.filter(kind=Organization.Kind.CLINIC, devices__status="submitted")
        .distinct().order_by("name"),
    })


@role_required(Role.INSPECTOR, Role.PLATFORM_ADMIN)
def inspection_queue(request):
    f = request.GET
    qs = selectors.inspection_queue(modality=f.get("modality", ""), clinic_id=f.get("clinic") or None)
    return render(request, "assets/queue.html", {
        "title": gettext("Inspection queue"), "page": Paginator(qs, PAGE_SIZE).get_page(f.get("page")),
        "filters": f, "modalities": Modality.choices, "action": gettext("Inspect"), "action_url": "assets:inspect",
        "can_act": user_has_role(request.user, Role.INSPECTOR),
        "show_value": True,
        "clinics": Organization.objects.filter(kind=Organization.Kind.CLINIC, devices__status="appraised")
        .distinct().order_by("name"),
    })


@role_required(Role.APPRAISER)
def appraise(request, pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    # Exams/day and fee stay blank unless the appraiser types them: blank means "use the
    # measured, declared or default figure", shown below each field with its real source.
    # A re-appraisal starts from the last signed appraisal (what its appraiser chose or typed).
    previous = selectors.device_last_appraisal(device=device)
    initial = AppraisalForm.initial_from(previous) if previous is not None else {
        "replacement_cost_new": device.purchase_price, "currency": device.purchase_currency}
    currency = request.POST.get("currency") or initial.get("currency") or device.purchase_currency
    measured = usage.measured_usage(device=device, on=timezone.localdate(), currency=currency)
    exams, exams_src, fee, fee_src = services.income_sources(device=device, typed_exams=None, typed_fee=None,
                                                             usage=measured)
    form = AppraisalForm(request.POST or None, initial=initial)
    form.fields["utilization_per_day"].help_text = (
        gettext("Blank: %(exams)s — %(source)s.") % {"exams": exams, "source": exams_src["label"]}
        if exams is not None
        else gettext("Blank: no figure is available (no telemetry, nothing declared); the income approach is "
                     "skipped."))
    form.fields["technical_fee_per_exam"].help_text = (
        gettext("Blank: %(fee)s — %(source)s (%(note)s).") % {
            "fee": format_money(fee, currency), "source": fee_src["label"], "note": measured["fee_note"]}
        if fee is not None
        else gettext("Blank: no measured fee is available; the income approach is skipped unless you enter one."))
    default_life = valuation.USEFUL_LIFE_YEARS.get(device.modality, valuation.USEFUL_LIFE_YEARS["OT"])
    form.fields["useful_life_years"].help_text = gettext("Blank: %(years)s years, the default for %(modality)s "
                                                         "(%(source)s).") % {
        "years": default_life, "modality": device.get_modality_display(),
        "source": gettext(valuation.useful_life_citation(device.modality))}
    if request.method == "POST" and form.is_valid():
        try:
            a = services.appraisal_create(actor=request.user, device=device, **form.service_kwargs())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, gettext("Draft appraisal saved. Review the values, then sign it."))
            return redirect("assets:appraisal-detail", pk=device.pk, appraisal_pk=a.pk)
    return render(request, "assets/appraise.html", {
        "form": form, "device": device, "previous": previous,
        "age": services.device_age_years(device=device, on=timezone.localdate()),
        "default_life": default_life,
        "exams": exams, "exams_src": exams_src, "fee": fee, "fee_src": fee_src, "measured": measured},
        status=400 if form.errors else 200)


@login_required
def appraisal_detail(request, pk, appraisal_pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    appraisal = get_object_or_404(device.appraisals.select_related("appraiser"), pk=appraisal_pk)
    if appraisal.status == "draft" and appraisal.appraiser_id != request.user.pk:
        raise Http404
    return render(request, "assets/appraisal_detail.html", {
        "device": device, "appraisal": appraisal,
        "income_sources": selectors.appraisal_income_sources(appraisal=appraisal),
        "income": appraisal.inputs.get("income") or appraisal.inputs.get("income_not_used") or {},
        "inputs_json": json.dumps(appraisal.inputs, indent=2),
        "can_sign": appraisal.status == "draft" and appraisal.appraiser_id == request.user.pk,
    })


@role_required(Role.APPRAISER)
@require_POST
def appraisal_sign(request, pk, appraisal_pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    appraisal = get_object_or_404(device.appraisals, pk=appraisal_pk)
    try:
        services.appraisal_sign(actor=request.user, appraisal=appraisal)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("assets:appraisal-detail", pk=device.pk, appraisal_pk=appraisal.pk)
    messages.success(request, gettext("Appraisal signed. The report is issued and can no longer change."))
    return redirect("assets:device-detail", pk=device.pk)


@login_required
def appraisal_pdf(request, pk, appraisal_pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    appraisal = get_object_or_404(device.appraisals.exclude(report_pdf=""), pk=appraisal_pk)
    return _file_response(appraisal.report_pdf, filename=f"appraisal-{appraisal.pk}.pdf",
                          content_type="application/pdf")


# --- certification -------------------------------------------------------------------------

@role_required(Role.INSPECTOR)
def inspect(request, pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    last = selectors.device_last_inspection(device=device)
    form = CertificationForm(request.POST or None, last=last)
    if request.method == "POST" and form.is_valid():
        try:
            cert = services.certification_complete(actor=request.user, device=device, items=form.items(),
                                                   qa_calibration_date=form.cleaned_data["qa_calibration_date"])
        except ApplicationError as exc:
            for key in exc.details:
                if key in dict(services.CHECKLIST):
                    form.add_error(f"{key}_notes", exc.details[key][0])
            if not any(k in dict(services.CHECKLIST) for k in exc.details):
                add_application_error(form, exc)
        else:
            if cert.passed:
                messages.success(request, gettext("Certified. The certificate has been issued."))
            else:
                messages.warning(request, gettext("Inspection failed; the clinic has been asked for changes."))
            return redirect("assets:device-detail", pk=device.pk)
    # The QA rule before anything is submitted: a stale date (prefilled from the last inspection,
    # or entered and sent back with another error) is said here; the script says it as it is typed.
    qa_date = (form.cleaned_data.get("qa_calibration_date") if form.is_bound and hasattr(form, "cleaned_data")
               else form.initial.get("qa_calibration_date"))
    qa_warning = form.qa_problem(qa_date) if qa_date and "qa_calibration_date" not in form.errors else ""
    return render(request, "assets/inspect.html", {
        "form": form, "device": device, "photos": list(device.photos.all()),
        "documents": list(device.documents.all()), "appraisal": selectors.device_signed_appraisal(device=device),
        "last": last, "last_failed": [i for i in last.checklist if not i.get("passed")] if last else [],
        "qa_months": form.qa_months, "qa_earliest": services.qa_calibration_earliest_valid(),
        "qa_warning": qa_warning}, status=400 if form.errors else 200)


# --- on-chain anchoring ----------------------------------------------------------------------

@role_required(Role.PLATFORM_ADMIN, Role.INSPECTOR)
@require_POST
def device_anchor_retry(request, pk):
    device = selectors.device_get_for_user(user=request.user, device_id=pk)
    try:
        services.device_anchor_retry(actor=request.user, device=device)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Anchoring sent again; the page updates once the chain confirms it."))
    return redirect("assets:device-detail", pk=device.pk)


# --- public verification -------------------------------------------------------------------

def _too_many(request):
    resp = render(request, "assets/verify_throttled.html",
                  {"limit": throttle.verify_rate_per_minute()}, status=429)
    resp["Retry-After"] = "60"
    return resp


def verify(request, ref):
    if throttle.verify_throttled(request):
        return _too_many(request)
    device, cert = selectors.certification_by_reference(ref)
    appraisal = cert.appraisal if cert and cert.appraisal_id else None
    onchain = selectors.device_anchor_onchain(device=device, cert=cert)
    resp = render(request, "assets/verify.html", {"device": device, "cert": cert, "appraisal": appraisal,
                                                  "onchain": onchain})
    resp["Cache-Control"] = "no-store"  # the chain is read live on every visit
    return resp


def verify_certificate(request, ref):
    if throttle.verify_throttled(request):
        return _too_many(request)
    _, cert = selectors.certification_by_reference(ref)
    if cert is None or not cert.certificate_pdf:
        raise Http404
    return _file_response(cert.certificate_pdf, filename=f"certificate-{cert.public_id}.pdf",
                          content_type="application/pdf")


def verify_appraisal(request, ref):
    """The signed appraisal report the certificate relies on: public once certified, so anyone
    can hash it against the on-chain anchor."""
    if throttle.verify_throttled(request):
        return _too_many(request)
    _, cert = selectors.certification_by_reference(ref)
    appraisal = cert.appraisal if cert and cert.appraisal_id else None
    if appraisal is None or not appraisal.report_pdf:
        raise Http404
    return _file_response(appraisal.report_pdf, filename=f"appraisal-{appraisal.pk}.pdf",
                          content_type="application/pdf")

"""Every change to devices, their files, appraisals and certifications goes through here:
keyword-only, atomic, validated, audited. One service per lifecycle transition."""

import datetime as dt
import functools
import logging
import secrets
import uuid
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from assets import notices, valuation
from assets import usage as usage_port
from assets.models import (
    AnchorStatus,
    Appraisal,
    AppraisalStatus,
    Certification,
    Device,
    DeviceDocument,
    DevicePhoto,
    DeviceStatus,
    DocumentKind,
)
from assets.pdfs import appraisal_report_pdf, certificate_pdf
from assets.selectors import (
    anchor_error_is_permanent,
    anchor_registry_deployed,
    device_anchor_hashes,
    device_current_certification,
    device_signed_appraisal,
)
from assets.udi import UdiError, parse_udi, serial_mismatch_warning
from assets.uploads import UploadError, clean_image, clean_pdf
from chain import selectors as chain_selectors
from chain.services import outbox_enqueue
from core.errors import ApplicationError, check_transition
from core.pdf import sha256_hex
from core.permissions import CLINIC_ROLES, Role, user_clinic_ids, user_has_role
from core.services import _jsonable, audit, snapshot

logger = logging.getLogger(__name__)

S = DeviceStatus
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.SUBMITTED, S.RETIRED},
    S.CHANGES_REQUESTED: {S.SUBMITTED, S.RETIRED},
    S.SUBMITTED: {S.CHANGES_REQUESTED, S.APPRAISED},
    S.APPRAISED: {S.CHANGES_REQUESTED, S.CERTIFIED, S.RETIRED},
    S.CERTIFIED: {S.TOKENIZED, S.RETIRED},
    S.TOKENIZED: {S.RETIRED},
    S.RETIRED: set(),
}

EDITABLE_FIELDS = [
    "modality", "manufacturer", "model_name", "serial_number", "udi_raw", "manufacture_date",
    "purchase_price", "purchase_currency", "purchase_date", "install_site", "gpu_model", "gpu_count",
    "gpu_memory_gb", "fda_510k", "eu_mdr_class", "eu_certificate_number", "declared_exams_per_day",
]
UDI_FIELDS = ["udi_issuer", "udi_di", "udi_serial", "udi_lot", "udi_production_date",
              "udi_expiry_date", "udi_warnings"]
EU_MDR_CLASSES = {"I", "IIa", "IIb", "III"}

# Labels stay English here (they are stored in Certification.checklist); forms and PDFs translate them.
CHECKLIST = [
    ("identity", gettext_noop("Identity matches UDI and serial number")),
    ("ownership", gettext_noop("Ownership evidence reviewed")),
    ("regulatory", gettext_noop("Regulatory clearance verified")),
    ("qa_calibration", gettext_noop("QA / calibration within the allowed period")),
    ("photos", gettext_noop("Photos reviewed")),
]


def qa_max_months() -> int:
    """The QA rule: the last QA / calibration test must be younger than this many months."""
    return int(getattr(settings, "ASSETS_QA_MAX_AGE_MONTHS", 12))


def _transition(*, actor, device: Device, target: str, action: str, reason: str = "",
                extra: dict | None = None) -> Device:
    check_transition(entity="device", table=TRANSITIONS, current=device.status, target=target)
    before = {"status": device.status}
    device.status = target
    fields = ["status", "updated_at"]
    for k, v in (extra or {}).items():
        setattr(device, k, v)
        fields.append(k)
    device.save(update_fields=fields)
    audit(actor=actor, action=action, obj=device, before=before, after={"status": target}, reason=reason)
    return device


def _require_member(actor, device_or_org, *, roles=CLINIC_ROLES, what="change this device"):
    org = getattr(device_or_org, "organization", device_or_org)
    if not user_has_role(actor, *roles, organization=org):
        raise ApplicationError("permission_denied", gettext('Only the owning clinic can %(what)s.') % {"what": what},
            status=403)


def _require_role(actor, *roles, what: str):
    if not user_has_role(actor, *roles):
        raise ApplicationError("permission_denied", gettext('Your role does not allow you to %(what)s.') %
            {"what": what}, status=403)


def _require_editable(device: Device):
    if not device.is_editable:
        raise ApplicationError(
            "device_read_only",
            gettext(
                "This device is %(get_status_display)s and can no longer be edited. Edits are possible again "
                "only if a reviewer requests changes.") % {"get_status_display": device.get_status_display().lower()},
            details={"status": device.status}, status=403)


def _require_independent(actor, device: Device, *, as_what: str) -> None:
    """Separation of duties: whoever values or inspects a device works for none of its
    clinic's organizations (admin or staff), so the clinic never reviews its own asset."""
    if device.organization_id in user_clinic_ids(actor):
        raise ApplicationError(
            "conflict_of_interest",
            gettext(
                "You are a member of %(name)s, which owns this device; a member of the owning clinic cannot act "
                "as its %(as_what)s.") % {"name": device.organization.name, "as_what": as_what},
            details={"organization": device.organization_id}, status=403)


def _require_not_inspector(actor, device: Device) -> None:
    if device.certifications.filter(inspector=actor).exists():
        raise ApplicationError(
            "conflict_of_interest",
            gettext("You inspected this device; its appraiser and its inspector must be different people."),
            status=403)


def _require_not_appraiser(actor, appraisal: Appraisal) -> None:
    if appraisal.appraiser_id == actor.pk:
        raise ApplicationError(
            "conflict_of_interest",
            gettext("You signed this device's appraisal; its appraiser and its inspector must be different people."),
            status=403)


def _apply_udi(device: Device) -> None:
    for f in UDI_FIELDS:
        setattr(device, f, [] if f == "udi_warnings" else (None if f.endswith("date") else ""))
    if not device.udi_raw:
        return
    try:
        udi = parse_udi(device.udi_raw)
    except UdiError as exc:
        raise ApplicationError("invalid_udi", str(exc), details={"udi_raw": [str(exc)]}) from exc
    device.udi_issuer, device.udi_di = udi.issuer, udi.di
    device.udi_serial, device.udi_lot = udi.serial[:64], udi.lot[:64]
    device.udi_production_date, device.udi_expiry_date = udi.production_date, udi.expiry_date
    warning = serial_mismatch_warning(typed_serial=device.serial_number, udi_serial=udi.serial)
    device.udi_warnings = [warning] if warning else []


def _check_duplicate(device: Device) -> None:
    if not device.udi_di:
        return
    other = (Device.objects.filter(udi_di=device.udi_di, serial_number=device.serial_number)
             .exclude(pk=device.pk).values_list("organization_id", flat=True).first())
    if other is not None:
        _raise_duplicate(same_clinic=other == device.organization_id)


def _raise_duplicate(*, same_clinic: bool):
    who = "your clinic" if same_clinic else "another clinic"
    msg = f"A device with this UDI-DI and serial number is already registered by {who}."
    raise ApplicationError("duplicate_device", msg, details={"serial_number": [msg]}, status=409)


def _validate_and_save(device: Device) -> None:
    errors = {}
    try:  # first, so values are converted to their Python types before the checks below
        device.full_clean(exclude=["created_by", "organization"], validate_constraints=False)
    except ValidationError as exc:
        errors = exc.message_dict
    if device.fda_510k and "fda_510k" not in errors:
        device.fda_510k = device.fda_510k.strip().upper()
        if not (len(device.fda_510k) == 7 and device.fda_510k[0] == "K" and device.fda_510k[1:].isdigit()):
            errors["fda_510k"] = ["A 510(k) number is K followed by 6 digits, e.g. K183621."]
    if device.eu_mdr_class and device.eu_mdr_class not in EU_MDR_CLASSES:
        errors["eu_mdr_class"] = ["EU MDR class is I, IIa, IIb or III."]
    if device.eu_certificate_number and not device.eu_mdr_class:
        errors["eu_mdr_class"] = ["Give the EU MDR class with the certificate number."]
    if device.gpu_count and not device.gpu_model.strip():
        errors["gpu_model"] = ["Name the GPU model when the device has GPUs."]
    if "purchase_price" not in errors and device.purchase_price is not None and device.purchase_price < 0:
        errors["purchase_price"] = ["The purchase price cannot be negative."]
    today = timezone.localdate()
    for f in ("manufacture_date", "purchase_date"):
        if f not in errors and getattr(device, f) and getattr(device, f) > today:
            errors[f] = ["This date is in the future."]
    if not errors and device.manufacture_date and device.purchase_date and \
            device.purchase_date < device.manufacture_date:
        errors["purchase_date"] = ["The purchase date is before the manufacture date."]
    if errors:
        raise ApplicationError("validation_error", gettext("The device details are invalid."), details=errors)
    _check_duplicate(device)
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError:  # a concurrent registration won the race for this UDI-DI + serial
        _raise_duplicate(same_clinic=False)


@transaction.atomic
def device_create(*, actor, organization, data: dict) -> Device:
    _require_member(actor, organization, what="register devices")
    device = Device(organization=organization, created_by=actor,
                    **{k: v for k, v in data.items() if k in EDITABLE_FIELDS})
    for f in ("manufacturer", "model_name", "serial_number", "udi_raw", "install_site"):
        setattr(device, f, (getattr(device, f) or "").strip())
    _apply_udi(device)
    _validate_and_save(device)
    audit(actor=actor, action="assets.device_create", obj=device,
          after=snapshot(device, ["status", *EDITABLE_FIELDS, *UDI_FIELDS]))
    return device


@transaction.atomic
def device_update(*, actor, device: Device, data: dict) -> Device:
    device = Device.objects.select_for_update().get(pk=device.pk)
    _require_member(actor, device)
    _require_editable(device)
    before = snapshot(device, [*EDITABLE_FIELDS, *UDI_FIELDS])
    for k, v in data.items():
        if k in EDITABLE_FIELDS:
            setattr(device, k, v.strip() if isinstance(v, str) else v)
    _apply_udi(device)
    _validate_and_save(device)
    after = snapshot(device, [*EDITABLE_FIELDS, *UDI_FIELDS])
    changed = {k for k in after if after[k] != before[k]}
    audit(actor=actor, action="assets.device_update", obj=device,
          before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return device


@transaction.atomic
def device_submit(*, actor, device: Device) -> Device:
    """Draft (or changes requested) → submitted. Needs a photo and a document; the clinic
    cannot edit from here on."""
    device = Device.objects.select_for_update().get(pk=device.pk)
    _require_member(actor, device, what="submit this device")
    check_transition(entity="device", table=TRANSITIONS, current=device.status, target=S.SUBMITTED)
    missing = {}
    if not device.photos.exists():
        missing["photos"] = ["Add at least one photo of the device."]
    if not device.documents.exists():
        missing["documents"] = ["Add at least one document (e.g. the purchase invoice)."]
    if missing:
        raise ApplicationError("incomplete_device", "The device is not ready to submit: "
                               + " ".join(m[0] for m in missing.values()), details=missing)
    device = _transition(actor=actor, device=device, target=S.SUBMITTED, action="assets.device_submit",
                         extra={"submitted_at": timezone.now(), "status_reason": ""})
    notices.device_submitted(device)
    return device


@transaction.atomic
def device_request_changes(*, actor, device: Device, reason: str) -> Device:
    _require_role(actor, Role.APPRAISER, Role.INSPECTOR, Role.PLATFORM_ADMIN, what="request changes")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", gettext("Say what the clinic needs to change."),
                               details={"reason": [gettext("Say what the clinic needs to change.")]})
    device = Device.objects.select_for_update().get(pk=device.pk)
    device = _transition(actor=actor, device=device, target=S.CHANGES_REQUESTED, reason=reason,
                         action="assets.device_request_changes", extra={"status_reason": reason})
    notices.changes_requested(device, reason=reason)
    return device


@transaction.atomic
def device_retire(*, actor, device: Device, reason: str) -> Device:
    device = Device.objects.select_for_update().get(pk=device.pk)
    if not (user_has_role(actor, Role.CLINIC_ADMIN, organization=device.organization)
            or user_has_role(actor, Role.PLATFORM_ADMIN)):
        raise ApplicationError("permission_denied", gettext("Only the clinic's admin can retire a device."), status=403)
    if not reason.strip():
        raise ApplicationError("reason_required", gettext("Say why the device is retired."),
                               details={"reason": [gettext("Say why the device is retired.")]})
    if device.status == S.TOKENIZED and not user_has_role(actor, Role.PLATFORM_ADMIN):
        # Investors hold fractions of it: the wind-down is the platform's call, not one click.
        raise ApplicationError("tokenized_device", gettext("This device backs a live token held by investors; "
                               "ask the platform team to retire it."), status=403)
    return _transition(actor=actor, device=device, target=S.RETIRED, action="assets.device_retire",
                       reason=reason)


@transaction.atomic
def device_mark_tokenized(*, actor, device: Device) -> Device:
    """Certified → tokenized; called by the tokens app once the offering exists."""
    device = Device.objects.select_for_update().get(pk=device.pk)
    return _transition(actor=actor, device=device, target=S.TOKENIZED, action="assets.device_mark_tokenized")


# --- stored files ---------------------------------------------------------------------------
# Storage writes are not transactional: a file saved inside a transaction that then rolls back
# would stay in storage with no row pointing at it. Services that write files wrap their
# transaction in _delete_files_on_failure, which removes what they wrote when anything in the
# service (or its commit) raises.

_written_files: ContextVar[list | None] = ContextVar("assets_written_files", default=None)


def _store(fieldfile, name: str, data: bytes) -> None:
    fieldfile.save(name, ContentFile(data), save=False)
    written = _written_files.get()
    if written is not None:
        written.append((fieldfile.storage, fieldfile.name))


def _delete_files_on_failure(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        written: list = []
        token = _written_files.set(written)
        try:
            return func(*args, **kwargs)
        except BaseException:
            for storage, name in written:
                try:
                    storage.delete(name)
                except Exception:  # the original error matters more than a failed cleanup
                    logger.exception("could not delete orphaned file %s", name)
            raise
        finally:
            _written_files.reset(token)

    return wrapper


# --- photos and documents ------------------------------------------------------------------

def _require_upload_allowed(actor, device: Device):
    _require_member(actor, device, what="add files to this device")
    _require_editable(device)


@_delete_files_on_failure
@transaction.atomic
def device_photo_add(*, actor, device: Device, upload) -> DevicePhoto:
    _require_upload_allowed(actor, device)
    try:
        img = clean_image(upload)
    except UploadError as exc:
        raise ApplicationError("invalid_upload", str(exc), details={"image": [str(exc)]}) from exc
    name = uuid.uuid4().hex
    photo = DevicePhoto(device=device, original_name=(getattr(upload, "name", "") or "")[:255],
                        width=img.width, height=img.height, sha256=sha256_hex(img.content),
                        uploaded_by=actor)
    _store(photo.image, f"photos/{name}.jpg", img.content)
    _store(photo.thumbnail, f"photos/{name}_thumb.jpg", img.thumbnail)
    photo.save()
    audit(actor=actor, action="assets.device_photo_add", obj=device,
          after={"photo": photo.pk, "sha256": photo.sha256})
    return photo


@_delete_files_on_failure
@transaction.atomic
def device_document_add(*, actor, device: Device, upload, kind: str) -> DeviceDocument:
    _require_upload_allowed(actor, device)
    if kind not in DocumentKind.values:
        raise ApplicationError("validation_error", gettext("Choose what kind of document this is."),
                               details={"kind": [gettext("Choose what kind of document this is.")]})
    try:
        data = clean_pdf(upload)
    except UploadError as exc:
        raise ApplicationError("invalid_upload", str(exc), details={"file": [str(exc)]}) from exc
    doc = DeviceDocument(device=device, kind=kind, original_name=(getattr(upload, "name", "") or "")[:255],
                         size=len(data), sha256=sha256_hex(data), uploaded_by=actor)
    _store(doc.file, f"documents/{uuid.uuid4().hex}.pdf", data)
    doc.save()
    audit(actor=actor, action="assets.device_document_add", obj=device,
          after={"document": doc.pk, "kind": kind, "sha256": doc.sha256})
    return doc


# --- appraisal -----------------------------------------------------------------------------

def device_age_years(*, device: Device, on: dt.date) -> Decimal:
    start = device.manufacture_date or device.udi_production_date or device.purchase_date
    if start is None:
        return Decimal(0)
    return max(Decimal((on - start).days) / Decimal("365.25"), Decimal(0)).quantize(Decimal("0.01"))


def _dec(value, name: str, errors: dict, *, required=True) -> Decimal | None:
    if value in (None, ""):
        if required:
            errors[name] = ["This field is required."]
        return None
    try:
        if isinstance(value, float):
            value = str(value)
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[name] = ["Enter a number."]
        return None


def _source(source: str, label: str, explanation: str = "", **extra) -> dict:
    return {"source": source, "label": label, "explanation": explanation, **extra}


def income_sources(*, device: Device, typed_exams: Decimal | None, typed_fee: Decimal | None,
                   usage: dict | None) -> tuple[Decimal | None, dict | None, Decimal | None, dict | None]:
    """(exams/day, its source, fee/exam, its source). A typed number is the appraiser's;
    blank exams/day come from telemetry when the device has it, else the clinic's declared
    figure, else the modality default with its citation; a blank fee comes only from the
    fee schedule applied to measured procedures. Never 'telemetry' for a typed number."""
    measured = ""
    if usage:
        first, last = usage["period"]
        measured = (f"{usage.get('procedures', '?')} completed exams on {usage['days']} operating days "
                    f"between {first:%Y-%m-%d} and {last:%Y-%m-%d}: {usage['exams_per_day']}/day")
    if typed_exams is not None:
        exams, exams_src = typed_exams, _source(
            valuation.SOURCE_APPRAISER, "entered by the appraiser",
            f"Telemetry measured {measured}." if measured else "")
    elif usage:
        exams, exams_src = usage["exams_per_day"], _source(
            valuation.SOURCE_TELEMETRY, f"measured (telemetry, {usage['days']} days)",
            f"Daily rollups: {measured}.", days=usage["days"],
            period=[usage["period"][0].isoformat(), usage["period"][1].isoformat()])
    elif device.declared_exams_per_day is not None:
        exams, exams_src = device.declared_exams_per_day, _source(
            valuation.SOURCE_DECLARED, "declared by the clinic",
            "Typical exams per day the clinic declared when registering the device; no telemetry.")
    elif device.modality in valuation.DEFAULT_EXAMS_PER_DAY:
        cite = valuation.DEFAULT_EXAMS_PER_DAY_CITATION[device.modality]
        exams, exams_src = valuation.DEFAULT_EXAMS_PER_DAY[device.modality], _source(
            valuation.SOURCE_MODALITY_DEFAULT, f"modality default ({cite})",
            "No telemetry and no declared utilization.", citation=cite)
    else:
        exams, exams_src = None, None
    if typed_fee is not None:
        fee, fee_src = typed_fee, _source(valuation.SOURCE_APPRAISER, "entered by the appraiser",
                                          f"Fee schedule: {usage['fee_note']}." if usage else "")
    elif usage and usage.get("fee_per_exam") is not None:
        fee, fee_src = usage["fee_per_exam"], _source(
            valuation.SOURCE_TELEMETRY, f"measured (telemetry, {usage['days']} days)",
            f"{usage.get('fee_note', 'fee schedule')}.", days=usage["days"])
    else:
        fee, fee_src = None, None
    return exams, exams_src, fee, fee_src


@transaction.atomic
def appraisal_create(
    *, actor, device: Device, effective_date: dt.date, replacement_cost_new, currency: str,
    condition_factor="1", salvage_fraction=valuation.DEFAULT_SALVAGE_FRACTION,
    obsolescence_fraction="0", useful_life_years=None, comparables: list[dict] | None = None,
    utilization_per_day=None, operating_days_per_year="300",
    technical_fee_per_exam=None, operating_cost_per_year="0", discount_rate="0.10",
    weights: dict | None = None, client: str = "", intended_users: str = "", intended_use: str = "",
    value_definition: str = "",
) -> Appraisal:
    """A draft appraisal with every input kept, and where each income input came from (see
    income_sources): measured usage is read here through assets.usage, so a caller cannot
    label its own number 'telemetry'. Without exams/day or a fee the income approach is skipped."""
    _require_role(actor, Role.APPRAISER, what="appraise devices")
    device = Device.objects.select_for_update().select_related("organization").get(pk=device.pk)
    _require_independent(actor, device, as_what="appraiser")
    _require_not_inspector(actor, device)
    if device.status not in (S.SUBMITTED, S.APPRAISED):
        raise ApplicationError("not_appraisable", gettext("Only submitted or appraised devices can be appraised."),
                               details={"status": device.status}, status=409)
    errors: dict = {}
    rcn = _dec(replacement_cost_new, "replacement_cost_new", errors)
    life = _dec(useful_life_years, "useful_life_years", errors, required=False) or \
        valuation.USEFUL_LIFE_YEARS.get(device.modality, valuation.USEFUL_LIFE_YEARS["OT"])
    cond = _dec(condition_factor, "condition_factor", errors)
    salv = _dec(salvage_fraction, "salvage_fraction", errors)
    obso = _dec(obsolescence_fraction, "obsolescence_fraction", errors)
    typed_util = _dec(utilization_per_day, "utilization_per_day", errors, required=False)
    typed_fee = _dec(technical_fee_per_exam, "technical_fee_per_exam", errors, required=False)
    days = _dec(operating_days_per_year, "operating_days_per_year", errors)
    opex = _dec(operating_cost_per_year, "operating_cost_per_year", errors)
    rate = _dec(discount_rate, "discount_rate", errors)
    comps = []
    for i, c in enumerate(comparables or []):
        price = _dec(c.get("price"), f"comparables[{i}].price", errors)
        adj = _dec(c.get("adjustment_fraction", "0"), f"comparables[{i}].adjustment_fraction", errors)
        if price is not None and adj is not None:
            comps.append(valuation.Comparable(price, adj, str(c.get("description", ""))[:200]))
    weights = {k: _dec(v, f"weights.{k}", errors) for k, v in (weights or {"cost": "1"}).items()
               if k in ("cost", "market", "income")}
    if currency not in dict(Device._meta.get_field("purchase_currency").choices):
        errors["currency"] = ["Unknown currency."]
    if effective_date > timezone.localdate():
        errors["effective_date"] = ["The effective date cannot be in the future."]
    if errors:
        raise ApplicationError("validation_error", gettext("The appraisal inputs are invalid."), details=errors)

    measured = usage_port.measured_usage(device=device, on=effective_date, currency=currency)
    util, util_src, fee, fee_src = income_sources(device=device, typed_exams=typed_util, typed_fee=typed_fee,
                                                  usage=measured)
    age = device_age_years(device=device, on=effective_date)
    cost_in = valuation.CostInputs(rcn, age, life, cond, salv, obso)
    income_in = None
    if util is not None and fee is not None:
        income_in = valuation.IncomeInputs(util, days, fee, opex, rate, max(life - age, Decimal(0)))
    try:
        result = valuation.appraise(cost=cost_in, comparables=comps, income=income_in, weights=weights)
    except ValueError as exc:
        raise ApplicationError("validation_error", gettext('The appraisal inputs are invalid: %(exc)s') % {"exc": exc},
                               details={"non_field_errors": [str(exc)]}) from exc
    inputs = {
        "cost": {"replacement_cost_new": rcn, "age_years": age, "useful_life_years": life,
                 # What the report says of the life: typed by the appraiser, or the modality's
                 # default with its published source (English, translated where shown).
                 **({"useful_life_source": valuation.SOURCE_APPRAISER} if useful_life_years not in (None, "")
                    else {"useful_life_source": valuation.SOURCE_MODALITY_DEFAULT,
                          "useful_life_citation": valuation.useful_life_citation(device.modality)}),
                 "condition_factor": cond, "salvage_fraction": salv, "obsolescence_fraction": obso,
                 "method": "double declining balance, floored at salvage"},
        "market": {"comparables": [{"price": c.price, "adjustment_fraction": c.adjustment_fraction,
                                    "adjusted_price": c.adjusted_price, "description": c.description}
                                   for c in comps]},
        "income": None if income_in is None else {
            "exams_per_day": util, "utilization_source": util_src["source"],
            "operating_days_per_year": days, "technical_fee_per_exam": fee,
            "operating_cost_per_year": opex, "discount_rate": rate,
            "remaining_life_years": income_in.remaining_life_years,
            "annual_net_income": valuation.annual_net_income(income_in),
            "sources": {"exams_per_day": util_src, "technical_fee_per_exam": fee_src,
                        "operating_days_per_year": _source(valuation.SOURCE_APPRAISER, "entered by the appraiser"),
                        "operating_cost_per_year": _source(valuation.SOURCE_APPRAISER, "entered by the appraiser"),
                        "discount_rate": _source(valuation.SOURCE_APPRAISER, "entered by the appraiser")}},
        # Why the income approach was skipped, with what was available, so the report says so.
        "income_not_used": None if income_in is not None else {
            "exams_per_day": util, "exams_per_day_source": util_src, "technical_fee_per_exam": fee,
            "technical_fee_source": fee_src,
            "reason": "no technical fee per exam (none entered and the fee schedule prices no measured "
                      "procedure)" if util is not None else "no utilization figure"},
        "weights_requested": weights,
    }
    appraisal = Appraisal(
        device=device, appraiser=actor, effective_date=effective_date, currency=currency,
        client=client.strip() or device.organization.name,
        intended_users=intended_users.strip() or f"{device.organization.name}; MedRWA platform; "
        "prospective investors in the device's offering",
        intended_use=intended_use.strip() or "Establish the value of the device for a tokenized offering "
        "and its on-chain certification.",
        value_definition=value_definition.strip() or "Fair market value in continued use: the "
        "estimated amount for which the equipment would exchange between a willing buyer and a "
        "willing seller, neither under compulsion, both with reasonable knowledge of relevant "
        "facts, with the equipment installed and in use.",
        inputs=_jsonable(inputs), cost_value=result.cost, market_value=result.market,
        income_value=result.income, reconciled_value=result.reconciled,
        weights={k: str(v) for k, v in result.weights.items()},
    )
    appraisal.full_clean(exclude=["report_pdf", "superseded_by"])
    appraisal.save()
    audit(actor=actor, action="assets.appraisal_create", obj=appraisal,
          after={"device": device.pk, "reconciled_value": result.reconciled, "currency": currency})
    return appraisal


@_delete_files_on_failure
@transaction.atomic
def appraisal_sign(*, actor, appraisal: Appraisal) -> Appraisal:
    """Makes the appraisal immutable, issues its report PDF, supersedes the previous signed
    appraisal and moves a submitted device to appraised."""
    appraisal = Appraisal.objects.select_for_update().select_related("device", "device__organization",
                                                                     "appraiser").get(pk=appraisal.pk)
    if appraisal.appraiser_id != actor.pk:
        raise ApplicationError("permission_denied", gettext("Only the appraiser who prepared it can sign it."),
                               status=403)
    _require_independent(actor, appraisal.device, as_what="appraiser")
    _require_not_inspector(actor, appraisal.device)
    if appraisal.status != AppraisalStatus.DRAFT:
        raise ApplicationError("appraisal_signed", gettext("This appraisal is already signed and cannot change."),
                               status=409)
    device = Device.objects.select_for_update().get(pk=appraisal.device_id)
    if device.status not in (S.SUBMITTED, S.APPRAISED):
        raise ApplicationError("not_appraisable", gettext("Only submitted or appraised devices can be appraised."),
                               details={"status": device.status}, status=409)
    previous = list(Appraisal.objects.select_for_update().filter(device=device, status=AppraisalStatus.SIGNED))
    for old in previous:
        old.status, old.superseded_by = AppraisalStatus.SUPERSEDED, appraisal
        old.save(update_fields=["status", "superseded_by", "updated_at"])
        audit(actor=actor, action="assets.appraisal_supersede", obj=old, after={"superseded_by": appraisal.pk})
    appraisal.status, appraisal.signed_at = AppraisalStatus.SIGNED, timezone.now()
    pdf = appraisal_report_pdf(appraisal)
    appraisal.report_sha256 = sha256_hex(pdf)
    _store(appraisal.report_pdf, f"appraisal-{appraisal.pk}-{uuid.uuid4().hex[:8]}.pdf", pdf)
    appraisal.save()
    audit(actor=actor, action="assets.appraisal_sign", obj=appraisal,
          after={"reconciled_value": appraisal.reconciled_value, "report_sha256": appraisal.report_sha256})
    newly_appraised = device.status == S.SUBMITTED
    if newly_appraised:
        _transition(actor=actor, device=device, target=S.APPRAISED, action="assets.device_appraised",
                    extra={"status_reason": ""})
    else:
        audit(actor=actor, action="assets.device_reappraised", obj=device,
              after={"appraisal": appraisal.pk, "reconciled_value": appraisal.reconciled_value})
    notices.appraised(appraisal, newly_appraised=newly_appraised)
    return appraisal


# --- certification -------------------------------------------------------------------------

def _months_between(earlier: dt.date, later: dt.date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (1 if later.day < earlier.day else 0)


def qa_calibration_expired(qa_date: dt.date, *, today: dt.date | None = None) -> bool:
    """True when a QA test on `qa_date` is too old for the rule: recorded as it is, the QA item
    fails and the whole inspection with it."""
    return _months_between(qa_date, today or timezone.localdate()) >= qa_max_months()


def qa_calibration_earliest_valid(*, today: dt.date | None = None) -> dt.date:
    """The oldest QA test date the rule still accepts today (the form warns below it)."""
    today = today or timezone.localdate()
    months = today.year * 12 + today.month - 1 - qa_max_months()
    year, month = divmod(months, 12)
    month += 1
    last_day = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(today.day, last_day)) + dt.timedelta(days=1)


@_delete_files_on_failure
@transaction.atomic
def certification_complete(*, actor, device: Device, items: dict[str, dict],
                           qa_calibration_date: dt.date | None) -> Certification:
    """items: {key: {"passed": bool, "notes": str}} for every CHECKLIST key. All pass →
    certified with a certificate PDF; any fail → changes requested with the reasons."""
    _require_role(actor, Role.INSPECTOR, what="certify devices")
    device = Device.objects.select_for_update().select_related("organization").get(pk=device.pk)
    _require_independent(actor, device, as_what="inspector")
    check_transition(entity="device", table=TRANSITIONS, current=device.status, target=S.CERTIFIED)
    signed = device_signed_appraisal(device=device)
    if signed is not None:
        _require_not_appraiser(actor, signed)
    missing = [k for k, _ in CHECKLIST if k not in items]
    if missing:
        raise ApplicationError("validation_error", gettext("Every checklist item needs a result."),
                               details={k: ["Record pass or fail."] for k in missing})
    checklist = []
    today = timezone.localdate()
    limit = qa_max_months()
    qa_stale = False
    for key, label in CHECKLIST:
        passed = bool(items[key].get("passed"))
        notes = str(items[key].get("notes", "")).strip()[:1000]
        if key == "qa_calibration":
            if qa_calibration_date is None:
                qa_stale = True
                passed, notes = False, (notes + " " if notes else "") + "No QA/calibration date recorded."
            elif qa_calibration_date > today:
                raise ApplicationError("validation_error", gettext("The QA/calibration date is in the future."),
                                       details={"qa_calibration_date": [gettext("This date is in the future.")]})
            elif qa_calibration_expired(qa_calibration_date, today=today):
                qa_stale = True
                passed = False
                notes = (notes + " " if notes else "") + \
                    f"Last QA/calibration {qa_calibration_date} is older than {limit} months."
        if not passed and not notes:
            raise ApplicationError("validation_error", gettext("Explain every failed item."),
                                   details={key: [gettext("Explain why this item failed.")]})
        checklist.append({"key": key, "label": label, "passed": passed, "notes": notes})
    ok = all(i["passed"] for i in checklist)
    cert = Certification(public_id=uuid.uuid4(), device=device, inspector=actor, passed=ok,
                         checklist=checklist, qa_calibration_date=qa_calibration_date,
                         appraisal=signed)
    if ok:
        if cert.appraisal is None:
            raise ApplicationError("not_appraised", gettext("The device has no signed appraisal."), status=409)
        cert.save()
        pdf = certificate_pdf(cert)
        cert.certificate_sha256 = sha256_hex(pdf)
        _store(cert.certificate_pdf, f"certificate-{cert.public_id}.pdf", pdf)
        cert.save()
        audit(actor=actor, action="assets.certification_complete", obj=cert,
              after={"passed": True, "certificate_sha256": cert.certificate_sha256})
        _transition(actor=actor, device=device, target=S.CERTIFIED, action="assets.device_certified",
                    extra={"status_reason": ""})
        _anchor_enqueue(actor=actor, device=device)
    else:
        cert.save()
        reasons = "; ".join(f"{i['label']}: {i['notes']}" for i in checklist if not i["passed"])
        audit(actor=actor, action="assets.certification_complete", obj=cert, after={"passed": False},
              reason=reasons)
        _transition(actor=actor, device=device, target=S.CHANGES_REQUESTED, reason=reasons,
                    action="assets.device_inspection_failed", extra={"status_reason": reasons})
    notices.inspected(cert, qa_months=limit, qa_stale=qa_stale)
    return cert


@transaction.atomic
def certificate_record_anchor(*, actor, device: Device, tx_hash: str, block_number: int, chain_id: int,
                              registry_address: str) -> Certification:
    """Called by the tokens app once the AssetRegistry anchor transaction is confirmed."""
    cert = device_current_certification(device=device)
    if cert is None:
        raise ApplicationError("not_certified", gettext("The device has no certificate to anchor."), status=409)
    cert = Certification.objects.select_for_update().get(pk=cert.pk)
    if cert.anchor_tx_hash and cert.anchor_tx_hash.lower() == tx_hash.lower():
        return cert  # idempotent
    before = snapshot(cert, ["anchor_tx_hash", "anchor_block_number", "anchor_chain_id"])
    cert.anchor_tx_hash, cert.anchor_block_number = tx_hash, block_number
    cert.anchor_chain_id, cert.anchor_registry_address = chain_id, registry_address
    cert.anchored_at = timezone.now()
    cert.save()
    audit(actor=actor, action="assets.certificate_record_anchor", obj=cert, before=before,
          after=snapshot(cert, ["anchor_tx_hash", "anchor_block_number", "anchor_chain_id",
                                "anchor_registry_address"]))
    return cert


# --- on-chain anchoring of the certificate and appraisal ------------------------------------

ANCHOR_FIELDS = ["chain_anchor_id", "anchor_status", "anchor_attempt", "anchor_certificate_sha256",
                 "anchor_appraisal_sha256", "anchor_tx_hash", "anchor_block_number", "anchor_error", "anchored_at",
                 "anchor_next_retry_at", "anchor_auto_retries"]

def anchor_retry_policy() -> tuple[int, int, int]:
    """(first delay, longest delay, automatic attempts) of the automatic anchoring retry: the
    delay doubles from the first to the longest; after the last automatic attempt only the
    manual retry is left. Defaults: 1 min, 1 h, 10 attempts (about 5 hours of trying)."""
    return (int(getattr(settings, "ASSETS_ANCHOR_RETRY_FIRST_SECONDS", 60)),
            int(getattr(settings, "ASSETS_ANCHOR_RETRY_MAX_SECONDS", 3600)),
            int(getattr(settings, "ASSETS_ANCHOR_RETRY_ATTEMPTS", 10)))


def _anchor_plan_retry(device: Device, *, now: dt.datetime, registry_missing: bool = False) -> None:
    """After a failed attempt: when the automatic retry is due (None: no automatic retry). With
    no registry deployed yet the retry is due at once: the sweep waits for the registry and
    spends no attempt meanwhile (the seed certifies before the chain is up)."""
    first, longest, attempts = anchor_retry_policy()
    if anchor_error_is_permanent(device.anchor_error) or device.anchor_auto_retries >= attempts:
        device.anchor_next_retry_at = None
    elif registry_missing:
        device.anchor_next_retry_at = now
    else:
        device.anchor_next_retry_at = now + dt.timedelta(
            seconds=min(longest, first * 2 ** min(device.anchor_auto_retries, 20)))


def _anchor_enqueue(*, actor, device: Device, automatic: bool = False) -> Device:
    """Next anchoring attempt of a certified device's two PDF hashes on AssetRegistry, through
    the chain outbox (one row per device and attempt). Runs inside the caller's transaction
    with the device locked; the send happens on commit. If the registry is not deployed the
    attempt is recorded as failed (retried automatically) instead of blocking the certification.
    A person's attempt (certification, manual retry) restarts the automatic retries' budget."""
    cert_hash, appraisal_hash = device_anchor_hashes(device=device)
    before = snapshot(device, ["anchor_status", "anchor_attempt"])
    if not device.chain_anchor_id:
        device.chain_anchor_id = "0x" + secrets.token_hex(32)
    device.anchor_attempt += 1
    device.anchor_auto_retries = device.anchor_auto_retries + 1 if automatic else 0
    device.anchor_next_retry_at = None
    device.anchor_certificate_sha256, device.anchor_appraisal_sha256 = cert_hash, appraisal_hash
    device.anchor_tx_hash, device.anchor_block_number, device.anchored_at = "", None, None
    try:
        registry = chain_selectors.deployment_address("AssetRegistry")
    except ApplicationError as exc:
        device.anchor_status, device.anchor_error = AnchorStatus.FAILED, exc.message
        _anchor_plan_retry(device, now=timezone.now(), registry_missing=True)
    else:
        outbox_enqueue(actor=actor, idempotency_key=device.anchor_key, kind="assets.anchor",
                       contract_name="AssetRegistry", function="anchor",
                       args=[device.chain_anchor_id, "0x" + cert_hash, "0x" + appraisal_hash],
                       to_address=registry, sender="agent",
                       reason=f"anchor certificate and appraisal of device {device.pk}")
        device.anchor_status, device.anchor_error = AnchorStatus.PENDING, ""
    device.save(update_fields=[*ANCHOR_FIELDS, "updated_at"])
    audit(actor=actor, action="assets.device_anchor_enqueue", obj=device, before=before,
          after={"anchor_status": device.anchor_status, "anchor_attempt": device.anchor_attempt,
                 "chain_anchor_id": device.chain_anchor_id, "certificate_sha256": cert_hash,
                 "appraisal_sha256": appraisal_hash, "automatic": automatic,
                 "next_retry_at": device.anchor_next_retry_at},
          reason=device.anchor_error)
    return device


@transaction.atomic
def device_anchor_retry(*, actor, device: Device) -> Device:
    """A new anchoring attempt (new idempotency key) after a failed one; platform admins and
    inspectors only."""
    _require_role(actor, Role.PLATFORM_ADMIN, Role.INSPECTOR, what="retry on-chain anchoring")
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.status not in (S.CERTIFIED, S.TOKENIZED):
        raise ApplicationError("not_certified", gettext("Only a certified device is anchored on chain."),
                               details={"status": device.status}, status=409)
    if device.anchor_status != AnchorStatus.FAILED:
        raise ApplicationError(
            "anchor_not_failed",
            gettext('Only a failed anchoring can be retried; this one is %(get_anchor_status_display)s.') %
                {"get_anchor_status_display": device.get_anchor_status_display().lower()},
            details={"anchor_status": device.anchor_status}, status=409)
    return _anchor_enqueue(actor=actor, device=device)


@transaction.atomic
def device_anchor_final(*, device_id: int, attempt: int, confirmed: bool, tx_hash: str = "",
                        block_number: int | None = None, error: str = "") -> Device | None:
    """Chain hook step: an anchoring transaction is final. A stale attempt (superseded by a
    retry) changes nothing; a repeated call for the same outcome is a no-op."""
    device = Device.objects.select_for_update().filter(pk=device_id).first()
    if device is None or attempt != device.anchor_attempt or device.anchor_status != AnchorStatus.PENDING:
        return device
    before = snapshot(device, ["anchor_status"])
    if confirmed:
        device.anchor_status, device.anchor_error = AnchorStatus.ANCHORED, ""
        device.anchor_tx_hash, device.anchor_block_number = tx_hash, block_number
        device.anchored_at = timezone.now()
    else:
        device.anchor_status, device.anchor_error = AnchorStatus.FAILED, (error or "anchoring failed")[:2000]
        _anchor_plan_retry(device, now=timezone.now())
    device.save(update_fields=[*ANCHOR_FIELDS, "updated_at"])
    audit(actor=None, action="assets.device_anchor_final", obj=device, before=before,
          after={"anchor_status": device.anchor_status, "anchor_attempt": attempt, "tx_hash": tx_hash,
                 "block_number": block_number, "next_retry_at": device.anchor_next_retry_at},
          reason=device.anchor_error)
    return device


def device_anchors_retry_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Periodic (assets.tasks.anchors_retry_due): a new attempt for every certified device whose
    failed anchoring is due for its automatic retry. While the AssetRegistry is not deployed it
    does nothing (the devices stay due and no attempt is spent); once it is, they are retried
    at the next run. Each device in its own transaction, locked and re-checked."""
    now = now or timezone.now()
    if not anchor_registry_deployed():
        return 0
    ids = list(Device.objects.filter(anchor_status=AnchorStatus.FAILED, anchor_next_retry_at__lte=now,
                                     status__in=[S.CERTIFIED, S.TOKENIZED])
               .order_by("anchor_next_retry_at", "pk").values_list("pk", flat=True)[:limit])
    done = 0
    for pk in ids:
        try:
            with transaction.atomic():
                device = Device.objects.select_for_update().get(pk=pk)
                if device.anchor_status != AnchorStatus.FAILED or device.anchor_next_retry_at is None \
                        or device.anchor_next_retry_at > now:
                    continue  # a person retried it, or another worker did, meanwhile
                _anchor_enqueue(actor=None, device=device, automatic=True)
                done += 1
        except Exception:  # one device's trouble must not keep the others waiting
            logger.exception("automatic anchoring retry of device %s failed", pk)
    return done

"""Reads with object-level permission checks: a device the user may not see is a 404."""

import datetime as dt
import hashlib
import logging
from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Organization
from assets import valuation
from assets.models import AnchorStatus, Appraisal, AppraisalStatus, Certification, Device, DeviceStatus
from chain import gateway
from chain import selectors as chain_selectors
from core.errors import ApplicationError
from core.models import AuditEvent
from core.permissions import Role, user_clinic_ids, user_has_role

REVIEWER_ROLES = (Role.APPRAISER, Role.INSPECTOR, Role.PLATFORM_ADMIN, Role.COMPLIANCE_OFFICER)


def device_visible_qs(*, user) -> QuerySet[Device]:
    """Clinic members see their organization's devices; reviewers (appraisers, inspectors,
    compliance, platform admins) see every device that has been submitted at least once."""
    cond = Q(organization_id__in=user_clinic_ids(user))
    if user_has_role(user, *REVIEWER_ROLES):
        cond |= ~Q(status=DeviceStatus.DRAFT) | Q(submitted_at__isnull=False)
    return Device.objects.filter(cond)


def device_get_for_user(*, user, device_id) -> Device:
    try:
        pk = int(device_id)
    except (TypeError, ValueError):
        raise Http404("No such device.") from None
    device = device_visible_qs(user=user).select_related("organization").filter(pk=pk).first()
    if device is None:
        raise Http404("No such device.")
    return device


def registration_clinics_for_user(*, user) -> QuerySet[Organization]:
    return Organization.objects.filter(pk__in=user_clinic_ids(user)).order_by("name", "pk")


def registration_clinic_for_user(*, user, organization_id=None) -> Organization:
    """The clinic a new device is registered for: the one named, if the user registers for
    it; otherwise the user's only clinic. Never a guess between several."""
    clinics = list(registration_clinics_for_user(user=user))
    if not clinics:
        raise ApplicationError("permission_denied", gettext("Only clinic admins and staff can register devices."),
                               status=403)
    if organization_id in (None, ""):
        if len(clinics) == 1:
            return clinics[0]
        msg = "You work for several clinics; say which one owns the device."
        raise ApplicationError("organization_required", msg, details={"organization": [msg]})
    try:
        oid = int(organization_id)
    except (TypeError, ValueError):
        oid = None
    for clinic in clinics:
        if clinic.pk == oid:
            return clinic
    msg = "You can only register devices for a clinic you work for."
    raise ApplicationError("permission_denied", msg, details={"organization": [msg]}, status=403)


def user_is_device_member(*, user, device: Device) -> bool:
    return device.organization_id in user_clinic_ids(user)


def _signed_appraisal_sq():
    return Appraisal.objects.filter(device=OuterRef("pk"), status=AppraisalStatus.SIGNED)


def device_list_for_user(*, user, status: str = "", modality: str = "", q: str = "") -> QuerySet[Device]:
    """The list pages: one query for the rows whatever their number (annotations instead of
    per-row lookups)."""
    qs = device_visible_qs(user=user).select_related("organization").annotate(
        appraised_value=Subquery(_signed_appraisal_sq().values("reconciled_value")[:1]),
        appraised_currency=Subquery(_signed_appraisal_sq().values("currency")[:1]),
        photo_count=Count("photos", distinct=True),
    )
    if status:
        qs = qs.filter(status=status)
    if modality:
        qs = qs.filter(modality=modality)
    if q:
        qs = qs.filter(Q(serial_number__icontains=q) | Q(model_name__icontains=q)
                       | Q(manufacturer__icontains=q) | Q(udi_di__icontains=q))
    return qs.order_by("-created_at", "-id")


def _queue(status: str, *, modality: str = "", clinic_id=None) -> QuerySet[Device]:
    qs = Device.objects.filter(status=status).select_related("organization")
    if modality:
        qs = qs.filter(modality=modality)
    if clinic_id:
        try:
            clinic_pk = int(clinic_id)
        except (TypeError, ValueError):
            clinic_pk = 0
        if not 0 < clinic_pk < 2**63:  # ?clinic=abc (or past bigint) names no clinic: nothing matches
            return qs.none()
        qs = qs.filter(organization_id=clinic_pk)
    return qs.order_by("submitted_at", "id")  # oldest first


def appraisal_queue(*, modality: str = "", clinic_id=None) -> QuerySet[Device]:
    return _queue(DeviceStatus.SUBMITTED, modality=modality, clinic_id=clinic_id)


def inspection_queue(*, modality: str = "", clinic_id=None) -> QuerySet[Device]:
    return _queue(DeviceStatus.APPRAISED, modality=modality, clinic_id=clinic_id).annotate(
        appraised_value=Subquery(_signed_appraisal_sq().values("reconciled_value")[:1]),
        appraised_currency=Subquery(_signed_appraisal_sq().values("currency")[:1]),
    )


def device_signed_appraisal(*, device: Device) -> Appraisal | None:
    return device.appraisals.filter(status=AppraisalStatus.SIGNED).select_related("appraiser").first()


def device_current_certification(*, device: Device) -> Certification | None:
    """The certificate in force: the latest passed certification."""
    return device.certifications.filter(passed=True).select_related("inspector").first()


def device_last_appraisal(*, device: Device) -> Appraisal | None:
    """The latest appraisal that was signed (in force or superseded): what a re-appraisal starts from."""
    return (device.appraisals.exclude(status=AppraisalStatus.DRAFT).select_related("appraiser")
            .order_by(F("signed_at").desc(nulls_last=True), "-id").first())


def device_last_inspection(*, device: Device) -> Certification | None:
    """The latest inspection, passed or failed: what a re-inspection starts from."""
    return device.certifications.select_related("inspector").order_by("-created_at", "-id").first()


def device_latest_appraisal_value(*, device: Device) -> tuple[Decimal, str] | None:
    appraisal = device_signed_appraisal(device=device)
    return (appraisal.reconciled_value, appraisal.currency) if appraisal else None


def device_anchor_hashes(*, device: Device) -> tuple[str, str]:
    """(certificate SHA-256 hex, signed appraisal report SHA-256 hex) — what AssetRegistry
    anchors. Raises ApplicationError when the device has no certificate or signed appraisal."""
    cert = device_current_certification(device=device)
    appraisal = cert.appraisal if cert and cert.appraisal_id else device_signed_appraisal(device=device)
    if cert is None or appraisal is None or not appraisal.report_sha256:
        raise ApplicationError("not_certified", gettext("The device has no certificate and signed appraisal yet."),
                               status=409)
    return cert.certificate_sha256, appraisal.report_sha256


# Reverts that no retry can cure (the anchor id itself is refused): only a person can act.
ANCHOR_PERMANENT_ERRORS = ("InvalidDeviceId",)


def anchor_error_is_permanent(error: str) -> bool:
    return any(code in (error or "") for code in ANCHOR_PERMANENT_ERRORS)


def anchor_registry_deployed() -> bool:
    try:
        chain_selectors.deployment_address("AssetRegistry")
    except ApplicationError:
        return False
    return True


def device_anchor_retry_state(*, device: Device, now: dt.datetime | None = None) -> dict | None:
    """What happens next to a failed anchoring, for the device page: `scheduled` (automatic
    retry at `at`), `waiting` (due, but the AssetRegistry is not deployed yet: retried as soon as
    it is), `due` (the next sweep, within a minute, retries it), or `manual` (no automatic retry:
    a permanent error or the automatic attempts are used up). None unless anchoring failed."""
    if device.anchor_status != AnchorStatus.FAILED:
        return None
    if device.anchor_next_retry_at is None:
        return {"state": "manual", "permanent": anchor_error_is_permanent(device.anchor_error)}
    if not anchor_registry_deployed():
        return {"state": "waiting"}
    if device.anchor_next_retry_at > (now or timezone.now()):
        return {"state": "scheduled", "at": device.anchor_next_retry_at}
    return {"state": "due"}


def appraisal_income_sources(*, appraisal: Appraisal) -> dict:
    """{exams_per_day, technical_fee_per_exam}: each {source, label, explanation} or None."""
    inc, skipped = appraisal.inputs.get("income"), appraisal.inputs.get("income_not_used")
    if inc and inc.get("sources"):
        return {k: inc["sources"].get(k) for k in ("exams_per_day", "technical_fee_per_exam")}
    if inc:  # appraised before sources were recorded: say only what was recorded, unverified
        legacy = {"source": inc.get("utilization_source", ""), "label": f"recorded as "
                  f"'{inc.get('utilization_source', '?')}' by the caller (not checked against telemetry)",
                  "explanation": ""}
        return {"exams_per_day": legacy, "technical_fee_per_exam": None}
    if skipped:
        return {"exams_per_day": skipped.get("exams_per_day_source"),
                "technical_fee_per_exam": skipped.get("technical_fee_source")}
    return {"exams_per_day": None, "technical_fee_per_exam": None}


def device_timeline(*, device: Device) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(object_type="assets.device", object_id=str(device.pk)).order_by(
        "created_at", "id")


def certification_by_reference(ref: str) -> tuple[Device, Certification | None]:
    """Public lookup for /verify/<ref>/ by the device's opaque `public_ref` only: a device id
    or certificate UUID (the old links) is a 404, so the page cannot be walked. Only devices
    that reached submission exist publicly; drafts are a 404."""
    ref = str(ref)
    if not ref or len(ref) > 32:
        raise Http404("No such device or certificate.")
    device = Device.objects.select_related("organization").filter(public_ref=ref).first()
    if device is None or (device.status == DeviceStatus.DRAFT and device.submitted_at is None):
        raise Http404("No such device or certificate.")
    return device, device_current_certification(device=device)


def _sha256_of(fieldfile) -> str | None:
    """SHA-256 of the file as it is served for download (not the stored column)."""
    if not fieldfile:
        return None
    h = hashlib.sha256()
    with fieldfile.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def device_anchor_onchain(*, device: Device, cert: Certification | None) -> dict:
    """Reads AssetRegistry.anchorOf(device.chain_anchor_id) LIVE and compares it with the
    SHA-256 of the two downloadable PDFs. state: not_anchored (never sent / nothing on chain),
    unavailable (no answer from the chain: nothing is claimed), read (`documents` says, per
    PDF, match True/False)."""
    appraisal = cert.appraisal if cert and cert.appraisal_id else None
    docs = [
        {"key": "certificate", "label": "Inspection certificate",
         "file_sha256": _sha256_of(cert.certificate_pdf) if cert else None, "onchain_sha256": None, "match": None},
        {"key": "appraisal", "label": "Appraisal report",
         "file_sha256": _sha256_of(appraisal.report_pdf) if appraisal else None, "onchain_sha256": None,
         "match": None},
    ]
    out = {"state": "not_anchored", "reason": "", "anchor_id": device.chain_anchor_id, "revision": 0,
           "anchored_at": None, "registry": "", "documents": docs,
           "tx_hash": device.anchor_tx_hash, "block_number": device.anchor_block_number,
           "status": device.anchor_status}
    if not device.chain_anchor_id:
        out["reason"] = "This device has not been sent for anchoring."
        return out
    try:
        out["registry"] = chain_selectors.deployment_address("AssetRegistry")
    except ApplicationError:
        return {**out, "state": "unavailable", "reason": "The AssetRegistry contract is not deployed on this "
                "platform's chain, so the anchor cannot be read."}
    if not gateway.is_available():
        return {**out, "state": "unavailable", "reason": "The chain node cannot be reached right now, so "
                "the anchor cannot be checked. Nothing is claimed; try again later."}
    try:
        cert_hash, appraisal_hash, anchored_at, revision = gateway.call(
            "AssetRegistry", out["registry"], "anchorOf", device.chain_anchor_id)
    except Exception as exc:  # any failure to read is reported as such, never as verified
        logging.getLogger(__name__).warning("anchorOf(%s) failed: %s", device.chain_anchor_id, exc)
        return {**out, "state": "unavailable", "reason": "The chain did not answer the anchor read, so "
                "the anchor cannot be checked. Nothing is claimed; try again later."}
    if int(revision) == 0:
        out["reason"] = "Nothing is anchored on chain for this device yet."
        return out
    out.update(state="read", revision=int(revision),
               anchored_at=dt.datetime.fromtimestamp(int(anchored_at), tz=dt.UTC))
    for doc, onchain in zip(docs, (cert_hash, appraisal_hash), strict=True):
        doc["onchain_sha256"] = onchain.removeprefix("0x").lower()
        doc["match"] = doc["file_sha256"] is not None and doc["file_sha256"] == doc["onchain_sha256"]
    return out


def depreciation_chart_data(device: Device, appraisal: Appraisal | None) -> dict:
    if appraisal is not None:
        c = appraisal.inputs["cost"]
        inp = valuation.CostInputs(*(valuation.Decimal(c[k]) for k in (
            "replacement_cost_new", "age_years", "useful_life_years", "condition_factor",
            "salvage_fraction", "obsolescence_fraction")))
        currency, basis = appraisal.currency, "signed appraisal"
    elif device.purchase_price:
        life = valuation.USEFUL_LIFE_YEARS.get(device.modality, valuation.USEFUL_LIFE_YEARS["OT"])
        inp = valuation.CostInputs(device.purchase_price, valuation.ZERO, life)
        currency, basis = device.purchase_currency, "purchase price, modality default life"
    else:
        return {}
    curve = valuation.depreciation_curve(inp)
    return {"labels": [t for t, _ in curve], "values": [str(v) for _, v in curve],
            "currency": currency, "basis": basis, "useful_life": str(inp.useful_life_years),
            "age": str(inp.age_years)}

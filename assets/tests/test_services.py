import datetime as dt

import pytest
from django.utils import timezone
from pypdf import PdfReader

from accounts.tests.factories import make_user
from assets import selectors, services
from assets.models import Appraisal, AppraisalStatus, Device, DeviceStatus
from assets.samples import pdf_upload, photo_upload
from assets.tests.factories import BAD_GTIN, VALID_GTIN
from core.errors import ApplicationError
from core.models import AuditEvent
from core.roles import Role

pytestmark = pytest.mark.django_db


def _data(**kw):
    d = {"modality": "CT", "manufacturer": "GE", "model_name": "Revolution", "serial_number": "S1",
         "udi_raw": f"(01){VALID_GTIN}(11)210301(21)S1"}
    d.update(kw)
    return d


def _org(user):
    return user.memberships.first().organization


def test_create_parses_udi_and_audits(clinic_admin):
    d = services.device_create(actor=clinic_admin, organization=_org(clinic_admin), data=_data())
    assert (d.udi_issuer, d.udi_di, d.udi_serial) == ("gs1", VALID_GTIN, "S1")
    assert d.udi_production_date == dt.date(2021, 3, 1)
    assert d.udi_warnings == []
    assert AuditEvent.objects.filter(action="assets.device_create", object_id=str(d.pk)).exists()


def test_serial_mismatch_is_flagged_and_stored(clinic_admin):
    d = services.device_create(actor=clinic_admin, organization=_org(clinic_admin),
                               data=_data(serial_number="OTHER"))
    assert "differs from the serial in the UDI (S1)" in d.udi_warnings[0]


def test_wrong_check_digit_is_refused(clinic_admin):
    with pytest.raises(ApplicationError) as e:
        services.device_create(actor=clinic_admin, organization=_org(clinic_admin),
                               data=_data(udi_raw=f"(01){BAD_GTIN}(21)S1"))
    assert "check digit is wrong: expected 7, got 5" in e.value.details["udi_raw"][0]
    assert not Device.objects.exists()


def test_duplicate_udi_serial_names_no_other_clinic(clinic_admin):
    services.device_create(actor=clinic_admin, organization=_org(clinic_admin), data=_data())
    other = make_user(Role.CLINIC_ADMIN)
    with pytest.raises(ApplicationError) as e:
        services.device_create(actor=other, organization=_org(other), data=_data())
    assert e.value.message.endswith("already registered by another clinic.")
    assert _org(clinic_admin).name not in e.value.message
    with pytest.raises(ApplicationError) as e:
        services.device_create(actor=clinic_admin, organization=_org(clinic_admin), data=_data())
    assert "by your clinic" in e.value.message
    assert Device.objects.count() == 1


def test_regulatory_fields_validated(clinic_admin):
    with pytest.raises(ApplicationError) as e:
        services.device_create(actor=clinic_admin, organization=_org(clinic_admin),
                               data=_data(fda_510k="123456", eu_mdr_class="IV"))
    assert set(e.value.details) >= {"fda_510k", "eu_mdr_class"}


def test_other_clinic_cannot_create_or_edit(clinic_admin, clinic_device_factory):
    device, _ = clinic_device_factory()
    with pytest.raises(ApplicationError) as e:
        services.device_update(actor=clinic_admin, device=device, data={"model_name": "x"})
    assert e.value.status == 403


def test_submit_requires_files_then_device_is_read_only(clinic_device_factory):
    device, admin = clinic_device_factory()
    with pytest.raises(ApplicationError) as e:
        services.device_submit(actor=admin, device=device)
    assert set(e.value.details) == {"photos", "documents"}
    services.device_photo_add(actor=admin, device=device, upload=photo_upload())
    services.device_document_add(actor=admin, device=device, upload=pdf_upload(), kind="invoice")
    services.device_submit(actor=admin, device=device)
    device.refresh_from_db()
    assert device.status == DeviceStatus.SUBMITTED and device.submitted_at
    with pytest.raises(ApplicationError) as e:
        services.device_update(actor=admin, device=device, data={"model_name": "changed"})
    assert e.value.code == "device_read_only"
    with pytest.raises(ApplicationError):
        services.device_photo_add(actor=admin, device=device, upload=photo_upload())
    device.refresh_from_db()
    assert device.model_name == "SOMATOM go.Up"


def test_request_changes_needs_reason_and_allows_resubmit(clinic_device_factory, appraiser):
    device, admin = clinic_device_factory("submitted")
    with pytest.raises(ApplicationError):
        services.device_request_changes(actor=appraiser, device=device, reason=" ")
    services.device_request_changes(actor=appraiser, device=device, reason="Photo of the label please")
    device.refresh_from_db()
    assert device.status == DeviceStatus.CHANGES_REQUESTED
    services.device_update(actor=admin, device=device, data={"install_site": "Room 2"})
    services.device_submit(actor=admin, device=device)
    device.refresh_from_db()
    assert device.status == DeviceStatus.SUBMITTED
    ev = AuditEvent.objects.get(action="assets.device_request_changes")
    assert ev.reason == "Photo of the label please" and ev.before == {"status": "submitted"}


def test_illegal_transition_is_clear_error(clinic_device_factory, clinic_admin):
    device, admin = clinic_device_factory()
    with pytest.raises(ApplicationError) as e:
        services.device_mark_tokenized(actor=admin, device=device)
    assert e.value.code == "illegal_transition"
    assert "draft cannot become tokenized" in e.value.message


def test_full_lifecycle_pdfs_and_hashes(clinic_device_factory):
    device, admin = clinic_device_factory("certified")
    assert device.status == DeviceStatus.CERTIFIED
    appraisal = selectors.device_signed_appraisal(device=device)
    cert = selectors.device_current_certification(device=device)
    cert_hash, appr_hash = selectors.device_anchor_hashes(device=device)
    import hashlib
    assert cert_hash == hashlib.sha256(cert.certificate_pdf.open("rb").read()).hexdigest()
    assert appr_hash == hashlib.sha256(appraisal.report_pdf.open("rb").read()).hexdigest()
    text = "".join(p.extract_text() for p in PdfReader(appraisal.report_pdf.open("rb")).pages)
    for s in ("Client", admin.memberships.first().organization.name, "Intended use", "Value definition",
              "Effective date", f"{appraisal.reconciled_value:,} USD", "Reconciliation", "Appraiser",
              appraisal.appraiser.full_name, "Cost approach", "Market approach", "Income approach",
              "2020 go.Up", "declared by the clinic"):
        assert s in text, s
    ctext = "".join(p.extract_text() for p in PdfReader(cert.certificate_pdf.open("rb")).pages)
    assert str(cert.public_id) in ctext and "PASS" in ctext and device.serial_number in ctext
    assert f"/verify/{device.public_ref}/" in ctext and f"/verify/{device.pk}/" not in ctext
    assert "1,250,000" not in ctext  # no purchase price on a public certificate
    assert selectors.device_latest_appraisal_value(device=device) == (appraisal.reconciled_value, "USD")
    services.device_mark_tokenized(actor=None, device=device)
    device.refresh_from_db()
    assert device.status == DeviceStatus.TOKENIZED
    services.certificate_record_anchor(actor=None, device=device, tx_hash="0x" + "ab" * 32, block_number=7,
                                       chain_id=31337, registry_address="0x" + "11" * 20)
    cert.refresh_from_db()
    assert cert.anchor_block_number == 7


def test_signed_appraisal_is_superseded_by_new_one(clinic_device_factory, appraiser):
    device, _ = clinic_device_factory("appraised", appraiser=appraiser)
    first = selectors.device_signed_appraisal(device=device)
    second = services.appraisal_create(actor=appraiser, device=device, effective_date=timezone.localdate(),
                                       replacement_cost_new="1000000", currency="USD")
    with pytest.raises(ApplicationError):
        services.appraisal_sign(actor=make_user(Role.APPRAISER), appraisal=second)
    services.appraisal_sign(actor=appraiser, appraisal=second)
    first.refresh_from_db()
    assert first.status == AppraisalStatus.SUPERSEDED and first.superseded_by == second
    with pytest.raises(ApplicationError) as e:
        services.appraisal_sign(actor=appraiser, appraisal=second)
    assert e.value.code == "appraisal_signed"
    assert Appraisal.objects.filter(device=device, status="signed").count() == 1


def test_appraisal_records_a_typed_utilization_as_the_appraisers_never_telemetry(clinic_device_factory, appraiser):
    device, _ = clinic_device_factory("submitted")
    a = services.appraisal_create(actor=appraiser, device=device, effective_date=timezone.localdate(),
                                  replacement_cost_new="1500000", currency="USD", utilization_per_day="12.5",
                                  technical_fee_per_exam="245", weights={"cost": "1", "income": "1"})
    assert a.inputs["income"]["exams_per_day"] == "12.5"
    assert a.inputs["income"]["utilization_source"] == "appraiser"
    assert a.inputs["income"]["sources"]["exams_per_day"]["label"] == "entered by the appraiser"
    assert a.inputs["income"]["sources"]["technical_fee_per_exam"]["source"] == "appraiser"
    assert a.inputs["cost"]["useful_life_years"] == "8.2"
    assert min(a.cost_value, a.income_value) <= a.reconciled_value <= max(a.cost_value, a.income_value)
    with pytest.raises(TypeError):  # the old way of claiming telemetry is gone
        services.appraisal_create(actor=appraiser, device=device, effective_date=timezone.localdate(),
                                  replacement_cost_new="1", currency="USD", utilization_source="telemetry")


def test_failed_inspection_requests_changes_with_reasons(clinic_device_factory, inspector):
    device, _ = clinic_device_factory("appraised")
    items = {k: {"passed": True} for k, _ in services.CHECKLIST}
    old = timezone.localdate() - dt.timedelta(days=500)
    cert = services.certification_complete(actor=inspector, device=device, items=items, qa_calibration_date=old)
    device.refresh_from_db()
    assert not cert.passed and not cert.certificate_pdf
    assert device.status == DeviceStatus.CHANGES_REQUESTED
    assert "older than 12 months" in device.status_reason


def test_failed_item_needs_notes(clinic_device_factory, inspector):
    device, _ = clinic_device_factory("appraised")
    items = {k: {"passed": True} for k, _ in services.CHECKLIST}
    items["ownership"] = {"passed": False, "notes": ""}
    with pytest.raises(ApplicationError) as e:
        services.certification_complete(actor=inspector, device=device, items=items,
                                        qa_calibration_date=timezone.localdate())
    assert "ownership" in e.value.details


def test_visibility(clinic_device_factory, appraiser, investor):
    draft, admin = clinic_device_factory()
    submitted, _ = clinic_device_factory("submitted")
    assert selectors.device_get_for_user(user=admin, device_id=draft.pk) == draft
    from django.http import Http404
    with pytest.raises(Http404):
        selectors.device_get_for_user(user=admin, device_id=submitted.pk)
    with pytest.raises(Http404):
        selectors.device_get_for_user(user=appraiser, device_id=draft.pk)
    assert selectors.device_get_for_user(user=appraiser, device_id=submitted.pk) == submitted
    with pytest.raises(Http404):
        selectors.device_get_for_user(user=investor, device_id=submitted.pk)


def test_gpu_count_needs_model(clinic_admin):
    with pytest.raises(ApplicationError) as e:
        services.device_create(actor=clinic_admin, organization=_org(clinic_admin),
                               data=_data(gpu_count=2, gpu_memory_gb=48))
    assert "gpu_model" in e.value.details
    d = services.device_create(actor=clinic_admin, organization=_org(clinic_admin),
                               data=_data(gpu_count=2, gpu_memory_gb=48, gpu_model="NVIDIA RTX A6000"))
    assert (d.gpu_count, d.gpu_memory_gb) == (2, 48)


def _stored_files(folder: str = "assets") -> set[str]:
    from django.core.files.storage import default_storage

    if not default_storage.exists(folder):
        return set()
    dirs, files = default_storage.listdir(folder)
    out = {f"{folder}/{n}" for n in files}
    for d in dirs:
        out |= _stored_files(f"{folder}/{d}")
    return out


def _fail_on(monkeypatch, action):
    real = services.audit

    def audit(**kw):
        if kw["action"] == action:
            raise RuntimeError("audit store down")
        return real(**kw)

    monkeypatch.setattr(services, "audit", audit)


@pytest.mark.parametrize("action", ["assets.device_photo_add", "assets.device_document_add"])
def test_upload_that_fails_after_writing_leaves_no_file_and_no_row(monkeypatch, clinic_device_factory, action):
    device, admin = clinic_device_factory()
    before = _stored_files()
    _fail_on(monkeypatch, action)
    with pytest.raises(RuntimeError):
        if action.endswith("photo_add"):
            services.device_photo_add(actor=admin, device=device, upload=photo_upload())
        else:
            services.device_document_add(actor=admin, device=device, upload=pdf_upload(), kind="invoice")
    assert _stored_files() == before
    assert not device.photos.exists() and not device.documents.exists()


def test_sign_and_certify_that_fail_leave_no_pdf_behind(monkeypatch, clinic_device_factory):
    device, _ = clinic_device_factory("submitted")
    appraiser = make_user(Role.APPRAISER)
    a = services.appraisal_create(actor=appraiser, device=device, effective_date=timezone.localdate(),
                                  replacement_cost_new="1000000", currency="USD")
    before = _stored_files()
    _fail_on(monkeypatch, "assets.device_appraised")
    with pytest.raises(RuntimeError):
        services.appraisal_sign(actor=appraiser, appraisal=a)
    assert _stored_files() == before
    a.refresh_from_db()
    assert a.status == AppraisalStatus.DRAFT and not a.report_pdf
    monkeypatch.undo()
    services.appraisal_sign(actor=appraiser, appraisal=a)
    before = _stored_files()
    _fail_on(monkeypatch, "assets.device_certified")
    with pytest.raises(RuntimeError):
        services.certification_complete(
            actor=make_user(Role.INSPECTOR), device=device, qa_calibration_date=timezone.localdate(),
            items={k: {"passed": True, "notes": ""} for k, _ in services.CHECKLIST})
    assert _stored_files() == before
    device.refresh_from_db()
    assert device.status == DeviceStatus.APPRAISED and not device.certifications.exists()


def test_pdfs_show_markup_characters_users_typed(clinic_device_factory, appraiser, inspector):
    import io

    device, _ = clinic_device_factory("submitted")
    Device.objects.filter(pk=device.pk).update(manufacturer="R&D <Imaging>", model_name="X<1")
    a = services.appraisal_create(actor=appraiser, device=device, effective_date=timezone.localdate(),
                                  replacement_cost_new="1000000", currency="USD", client="Smith & Sons <Ltd>",
                                  comparables=[{"price": "500000", "description": "<b>unclosed"}],
                                  weights={"cost": "1", "market": "1"})
    a = services.appraisal_sign(actor=appraiser, appraisal=a)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(a.report_pdf.read())).pages)
    assert "R&D <Imaging>" in text and "Smith & Sons <Ltd>" in text and "<b>unclosed" in text
    cert = services.certification_complete(
        actor=inspector, device=device, qa_calibration_date=timezone.localdate(),
        items={k: {"passed": True, "notes": "seen < 1 week & ok"} for k, _ in services.CHECKLIST})
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(cert.certificate_pdf.read())).pages)
    assert "R&D <Imaging> X<1" in text and "seen < 1 week & ok" in text


def test_retire_needs_a_reason_and_is_audited(clinic_device_factory):
    device, admin = clinic_device_factory("certified")
    with pytest.raises(ApplicationError) as exc:
        services.device_retire(actor=admin, device=device, reason="  ")
    assert exc.value.code == "reason_required"
    device.refresh_from_db()
    assert device.status == DeviceStatus.CERTIFIED
    services.device_retire(actor=admin, device=device, reason="Sold to another hospital")
    device.refresh_from_db()
    assert device.status == DeviceStatus.RETIRED
    assert AuditEvent.objects.get(action="assets.device_retire").reason == "Sold to another hospital"


def test_a_tokenized_device_is_retired_by_the_platform_only(clinic_device_factory, platform_admin):
    device, admin = clinic_device_factory("certified")
    services.device_mark_tokenized(actor=platform_admin, device=device)
    with pytest.raises(ApplicationError) as exc:
        services.device_retire(actor=admin, device=device, reason="Replacing it")
    assert exc.value.code == "tokenized_device" and exc.value.status == 403
    services.device_retire(actor=platform_admin, device=device, reason="Wind-down agreed with holders")
    device.refresh_from_db()
    assert device.status == DeviceStatus.RETIRED

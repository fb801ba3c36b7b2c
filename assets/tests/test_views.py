import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assets import selectors
from assets.models import Device, DeviceStatus
from assets.samples import jpeg_bytes, png_header_only
from assets.tests.factories import BAD_GTIN, VALID_GTIN, DeviceFactory
from core.money import format_money

pytestmark = pytest.mark.django_db


def _org(user):
    return user.memberships.first().organization


def _list_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get("/devices/")
    assert r.status_code == 200
    return len(ctx)


def test_device_list_constant_queries(client, clinic_admin, django_assert_max_num_queries):
    org = _org(clinic_admin)
    Device.objects.bulk_create(DeviceFactory.build(organization=org, serial_number=f"S{i}") for i in range(5))
    few = _list_queries(client, clinic_admin)
    Device.objects.bulk_create(DeviceFactory.build(organization=org, serial_number=f"T{i}") for i in range(1000))
    client.force_login(clinic_admin)
    with django_assert_max_num_queries(few):
        r = client.get("/devices/")
    assert "1005 devices" in r.content.decode()


def test_register_form_shows_udi_back_and_mismatch_warning(client, clinic_admin):
    client.force_login(clinic_admin)
    r = client.post("/devices/new/", {
        "modality": "CT", "manufacturer": "GE", "model_name": "Revolution", "serial_number": "TYPED1",
        "udi_raw": f"(01){VALID_GTIN}(11)210301(21)LABEL1", "purchase_currency": "USD",
        "gpu_count": 0, "gpu_memory_gb": 0}, follow=True)
    html = r.content.decode()
    assert VALID_GTIN in html and "LABEL1" in html and "2021-03-01" in html
    assert "differs from the serial in the UDI (LABEL1)" in html


def test_register_form_field_errors(client, clinic_admin):
    client.force_login(clinic_admin)
    r = client.post("/devices/new/", {
        "modality": "CT", "manufacturer": "GE", "model_name": "R", "serial_number": "S",
        "udi_raw": f"(01){BAD_GTIN}(21)S", "purchase_currency": "USD", "gpu_count": 0, "gpu_memory_gb": 0})
    assert r.status_code == 400
    assert "The GTIN check digit is wrong: expected 7, got 5." in r.content.decode()
    assert not Device.objects.exists()


def test_detail_shows_photos_documents_value_timeline_chart(client, clinic_device_factory):
    device, admin = clinic_device_factory("certified")
    client.force_login(admin)
    html = client.get(f"/devices/{device.pk}/").content.decode()
    appraisal = selectors.device_signed_appraisal(device=device)
    assert format_money(appraisal.reconciled_value, "USD") in html  # "1,234.56 USD"
    assert f"/devices/{device.pk}/photos/" in html and "Purchase invoice" in html
    for step in ("Create", "Submit", "Appraised", "Certified"):
        assert step in html
    assert 'id="depreciation-data"' in html and "chart.umd.min.js" in html


def test_other_clinic_gets_404_and_files_are_protected(client, clinic_device_factory, clinic_admin):
    device, admin = clinic_device_factory("submitted")
    photo, doc = device.photos.first(), device.documents.first()
    client.force_login(admin)
    r = client.get(f"/devices/{device.pk}/photos/{photo.pk}/?size=thumb")
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    client.force_login(clinic_admin)
    for url in (f"/devices/{device.pk}/", f"/devices/{device.pk}/photos/{photo.pk}/",
                f"/devices/{device.pk}/documents/{doc.pk}/", f"/devices/{device.pk}/edit/"):
        assert client.get(url).status_code == 404, url
    client.logout()
    assert client.get(f"/devices/{device.pk}/documents/{doc.pk}/").status_code == 302


def test_submitted_device_is_read_only_in_the_ui(client, clinic_device_factory):
    device, admin = clinic_device_factory("submitted")
    client.force_login(admin)
    r = client.get(f"/devices/{device.pk}/edit/", follow=True)
    assert "read-only" in r.content.decode()
    r = client.post(f"/devices/{device.pk}/photos/add/", {"image": SimpleUploadedFile("a.jpg", jpeg_bytes())})
    assert r.status_code == 400 and device.photos.count() == 1


def test_upload_field_errors(client, clinic_device_factory):
    device, admin = clinic_device_factory()
    client.force_login(admin)
    r = client.post(f"/devices/{device.pk}/documents/add/",
                    {"kind": "invoice", "file": SimpleUploadedFile("invoice.pdf", jpeg_bytes())})
    assert r.status_code == 400 and "is not a PDF" in r.content.decode()
    r = client.post(f"/devices/{device.pk}/photos/add/",
                    {"image": SimpleUploadedFile("big.png", png_header_only(20000, 20000))})
    assert r.status_code == 400 and "too many pixels" in r.content.decode()


def test_appraisal_queue_oldest_first_and_filters(client, clinic_device_factory, appraiser):
    d1, _ = clinic_device_factory("submitted")
    d2, _ = clinic_device_factory("submitted")
    Device.objects.filter(pk=d2.pk).update(submitted_at=timezone.now() - dt.timedelta(days=3), modality="MR")
    client.force_login(appraiser)
    html = client.get("/appraisals/queue/").content.decode()
    assert html.index(d2.serial_number) < html.index(d1.serial_number)
    html = client.get("/appraisals/queue/?modality=CT").content.decode()
    assert d1.serial_number in html and d2.serial_number not in html
    html = client.get(f"/appraisals/queue/?clinic={d2.organization_id}").content.decode()
    assert d2.serial_number in html and d1.serial_number not in html


def test_queues_refuse_other_roles(client, clinic_admin, appraiser):
    client.force_login(clinic_admin)
    assert client.get("/appraisals/queue/").status_code == 403
    client.force_login(appraiser)
    assert client.get("/inspections/queue/").status_code == 403


def test_appraise_without_telemetry_uses_declared_utilization_and_says_so(client, clinic_device_factory, appraiser):
    device, _ = clinic_device_factory("submitted")
    client.force_login(appraiser)
    html = client.get(f"/devices/{device.pk}/appraise/").content.decode()
    assert "Blank: 30.0 — declared by the clinic." in html
    assert "no telemetry for this device" in html and "measured (telemetry" not in html
    assert 'name="utilization_per_day" value=' not in html  # blank: not silently typed for the appraiser
    r = client.post(f"/devices/{device.pk}/appraise/", {
        "effective_date": timezone.localdate().isoformat(), "currency": "USD",
        "replacement_cost_new": "1500000", "condition_factor": "0.9", "obsolescence_fraction": "0",
        "salvage_fraction": "0.10", "comparables": "600000; -0.05; 2020 unit", "utilization_per_day": "",
        "technical_fee_per_exam": "245", "operating_days_per_year": "300", "operating_cost_per_year": "900000",
        "discount_rate": "0.10", "weight_cost": "0.5", "weight_market": "0.3", "weight_income": "0.2"})
    assert r.status_code == 302
    detail = client.get(r["Location"]).content.decode()
    assert "30.0 — declared by the clinic" in detail and "measured (telemetry" not in detail
    assert "entered by the appraiser" in detail  # the fee
    r = client.post(r["Location"] + "sign/")
    device.refresh_from_db()
    assert device.status == DeviceStatus.APPRAISED
    a = selectors.device_signed_appraisal(device=device)
    assert a.inputs["income"]["sources"]["exams_per_day"]["source"] == "declared"
    r = client.get(f"/devices/{device.pk}/appraisals/{a.pk}/report.pdf")
    assert r["Content-Type"] == "application/pdf" and b"".join(r.streaming_content).startswith(b"%PDF-")


def test_inspection_form_certifies(client, clinic_device_factory, inspector):
    device, _ = clinic_device_factory("appraised")
    client.force_login(inspector)
    data = {"qa_calibration_date": timezone.localdate().isoformat()}
    for k in ("identity", "ownership", "regulatory", "qa_calibration", "photos"):
        data[f"{k}_passed"] = "pass"
    data["photos_passed"] = "fail"
    r = client.post(f"/devices/{device.pk}/inspect/", data)
    assert r.status_code == 400 and "Explain why this item failed." in r.content.decode()
    data["photos_passed"] = "pass"
    assert client.post(f"/devices/{device.pk}/inspect/", data).status_code == 302
    device.refresh_from_db()
    assert device.status == DeviceStatus.CERTIFIED


def test_verify_logged_out_shows_hashes_not_private_data(client, clinic_device_factory):
    device, _ = clinic_device_factory("certified")
    cert = selectors.device_current_certification(device=device)
    html = client.get(f"/verify/{device.public_ref}/").content.decode()
    assert cert.certificate_sha256 in html and cert.appraisal.report_sha256 in html
    assert "Certified" in html
    assert "1250000" not in html and "purchase" not in html.lower()
    # No chain here: the page says it could not check, and claims no match.
    assert "Chain unreachable" in html and "Not checked: chain unreachable" in html
    assert "Matches the on-chain anchor" not in html
    import hashlib
    for name, digest in (("certificate", cert.certificate_sha256), ("appraisal", cert.appraisal.report_sha256)):
        r = client.get(f"/verify/{device.public_ref}/{name}.pdf")
        assert r.status_code == 200
        assert hashlib.sha256(b"".join(r.streaming_content)).hexdigest() == digest


def test_verify_refuses_sequential_ids_and_old_certificate_links(client, clinic_device_factory):
    device, _ = clinic_device_factory("certified")
    cert = selectors.device_current_certification(device=device)
    for ref in (device.pk, cert.public_id):
        assert client.get(f"/verify/{ref}/").status_code == 404
        assert client.get(f"/verify/{ref}/certificate.pdf").status_code == 404
        assert client.get(f"/api/v1/devices/verify/{ref}/").status_code == 404
    assert len(device.public_ref) >= 20 and not device.public_ref.isdigit()
    other, _ = clinic_device_factory("certified")
    assert other.public_ref != device.public_ref


def test_verify_is_throttled_per_client_address(client, clinic_device_factory, settings):
    settings.ASSETS_VERIFY_RATE_PER_MINUTE = 3
    device, _ = clinic_device_factory("certified")
    url = f"/verify/{device.public_ref}/"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    r = client.get(url)
    assert r.status_code == 429 and r["Retry-After"] == "60" and "Too many requests" in r.content.decode()
    api = client.get(f"/api/v1/devices/verify/{device.public_ref}/")
    assert api.status_code == 429 and api.json()["error"]["code"] == "throttled"
    # Another address has its own budget.
    assert client.get(url, REMOTE_ADDR="203.0.113.9").status_code == 200


def test_verify_shows_tokenization_anchor_and_hides_drafts(client, clinic_device_factory):
    from assets import services
    draft, _ = clinic_device_factory()
    assert client.get(f"/verify/{draft.public_ref}/").status_code == 404
    assert client.get("/verify/not-a-ref/").status_code == 404
    device, _ = clinic_device_factory("certified")
    services.certificate_record_anchor(actor=None, device=device, tx_hash="0x" + "cd" * 32, block_number=12,
                                       chain_id=31337, registry_address="0x" + "22" * 20)
    html = client.get(f"/verify/{device.public_ref}/").content.decode()
    assert "0x" + "cd" * 32 in html and "block 12" in html


def test_dashboard_panels_and_nav(client, clinic_device_factory, appraiser):
    _device, admin = clinic_device_factory("submitted")
    client.force_login(admin)
    html = client.get("/dashboard/").content.decode()
    assert "Your devices" in html and "Submitted: 1" in html and 'href="/devices/"' in html
    client.force_login(appraiser)
    html = client.get("/dashboard/").content.decode()
    assert "1 device waiting for appraisal" in html and "/appraisals/queue/" in html


def test_seeder_is_idempotent(db):
    import io

    from accounts import demo as accounts_demo
    from assets import demo
    accounts_demo.seed(io.StringIO())
    demo.seed(io.StringIO())
    demo.seed(io.StringIO())
    ct = Device.objects.get(serial_number=demo.CT_SERIAL)
    assert ct.status == DeviceStatus.CERTIFIED and ct.udi_di == VALID_GTIN
    assert Device.objects.get(serial_number=demo.MR_SERIAL).status == DeviceStatus.DRAFT
    assert Device.objects.count() == 2


def test_register_form_asks_which_clinic_when_user_has_several(client):
    from accounts.models import Membership
    from accounts.tests.factories import OrganizationFactory, make_user
    from core.roles import Role

    user = make_user(Role.CLINIC_ADMIN)
    first = _org(user)
    second = OrganizationFactory(name="Second Imaging Centre")
    Membership.objects.create(user=user, organization=second, role=Role.CLINIC_STAFF)
    client.force_login(user)
    page = client.get("/devices/new/").content.decode()
    assert "Second Imaging Centre" in page and first.name in page
    data = {"modality": "CT", "manufacturer": "GE", "model_name": "Revolution", "serial_number": "S1",
            "purchase_currency": "USD", "gpu_count": 0, "gpu_memory_gb": 0}
    r = client.post("/devices/new/", data)
    assert r.status_code == 400 and "This field is required" in r.content.decode()
    assert not Device.objects.exists()
    r = client.post("/devices/new/", {**data, "organization": second.pk})
    assert r.status_code == 302
    assert Device.objects.get().organization == second


@pytest.mark.parametrize("ref", ["%C2%B2", "%D9%A1%D9%A2x", "-1", "1.0"])
def test_verify_with_odd_references_is_404_not_500(client, ref):
    # "²" passes str.isdigit() but not int(): the public verify pages answered 500.
    for url in (f"/verify/{ref}/", f"/verify/{ref}/certificate.pdf", f"/api/v1/devices/verify/{ref}/"):
        r = client.get(url)
        assert r.status_code == 404, url
    assert client.get(f"/api/v1/devices/verify/{ref}/").json()["error"]["code"] == "not_found"

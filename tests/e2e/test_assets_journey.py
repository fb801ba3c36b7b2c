"""Browser journeys for devices: register → appraise → certify → public verification, and
the bad inputs a new user is likely to try."""

import hashlib
import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.tests.factories import PASSWORD, make_user
from assets.samples import jpeg_bytes, pdf_bytes, png_header_only
from core.roles import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GTIN = "09506000134352"


def _file(name, data, mime):
    return {"name": name, "mimeType": mime, "buffer": data}


def _register_ct(page, serial, udi):
    page.get_by_role("link", name="Devices", exact=True).click()
    page.get_by_role("button", name="Register a device").click()
    page.get_by_label("Modality").select_option("CT")
    page.get_by_label("Manufacturer").fill("Siemens Healthineers")
    page.get_by_label("Model", exact=True).fill("SOMATOM go.Up")
    page.get_by_label("Serial number").fill(serial)
    page.get_by_label("UDI", exact=True).fill(udi)
    page.get_by_label("Manufacture date").fill("2021-03-01")
    page.get_by_label("Purchase price").fill("1250000")
    page.get_by_label("FDA 510(k) number").fill("K183621")
    page.get_by_label("Typical exams per day").fill("30")
    page.get_by_role("button", name="Save device").click()


def _logout(page):
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def test_register_appraise_certify_verify(page, login):
    admin = make_user(Role.CLINIC_ADMIN, full_name="Clara Clinic")
    appraiser = make_user(Role.APPRAISER, full_name="Avery Appraiser")
    inspector = make_user(Role.INSPECTOR, full_name="Ines Inspector")

    login(admin.email, PASSWORD)
    _register_ct(page, "SN-E2E-1", f"(01){GTIN}(11)210301(21)SN-E2E-1")
    expect(page.get_by_text("Device saved as a draft")).to_be_visible()
    expect(page.get_by_role("cell", name=GTIN, exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="2021-03-01").first).to_be_visible()
    device_url = page.url
    device_id = re.search(r"/devices/(\d+)/", device_url).group(1)

    page.get_by_label("Photo", exact=True).set_input_files(_file("front.jpg", jpeg_bytes((640, 480), exif_gps=True),
                                                     "image/jpeg"))
    page.get_by_role("button", name="Upload photo").click()
    expect(page.get_by_text("Photo added.")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Photo 1 of the device"))).to_be_visible()
    page.get_by_label("Document type").select_option("invoice")
    page.get_by_label("PDF document").set_input_files(_file("invoice.pdf", pdf_bytes("Invoice 2021-06"),
                                                            "application/pdf"))
    page.get_by_role("button", name="Upload document").click()
    expect(page.get_by_role("link", name="Purchase invoice")).to_be_visible()
    page.get_by_role("button", name="Submit for appraisal").click()
    expect(page.get_by_test_id("device-status")).to_have_text("Submitted")
    expect(page.get_by_role("button", name="Edit device")).to_have_count(0)
    _logout(page)

    login(appraiser.email, PASSWORD)
    page.get_by_role("link", name="Appraisal queue", exact=True).click()
    page.get_by_role("button", name="Appraise SN-E2E-1").click()
    # No telemetry: the page says the income approach uses the clinic's declared figure.
    expect(page.get_by_test_id("usage-source")).to_contain_text("declared by the clinic")
    expect(page.get_by_text("Blank: 30.0 — declared by the clinic.")).to_be_visible()
    expect(page.get_by_label("Exams per day")).to_have_value("")
    page.get_by_label("Replacement cost new").fill("1500000")
    page.get_by_label("Condition factor").fill("0.90")
    page.get_by_label("Comparable sales").fill("600000; -0.05; 2020 go.Up")
    page.get_by_label("Technical fee per exam").fill("245")
    page.get_by_label("Operating cost per year").fill("1400000")
    page.get_by_role("button", name="Calculate draft appraisal").click()
    expect(page.get_by_text("Draft appraisal saved")).to_be_visible()
    value = page.get_by_test_id("reconciled-value").inner_text()
    expect(page.get_by_test_id("exams-source")).to_contain_text("30.0 — declared by the clinic")
    expect(page.get_by_test_id("fee-source")).to_contain_text("entered by the appraiser")
    page.get_by_role("button", name="Sign appraisal").click()
    expect(page.get_by_text("Appraisal signed.")).to_be_visible()
    expect(page.get_by_test_id("device-status")).to_have_text("Appraised")
    expect(page.get_by_test_id("appraised-value")).to_contain_text(value.split()[0])
    expect(page.get_by_role("img", name=re.compile("Depreciation curve"))).to_be_visible()
    assert page.evaluate("Chart.getChart('depreciation-chart').data.labels.length") > 8
    _logout(page)

    login(inspector.email, PASSWORD)
    page.get_by_role("link", name="Inspection queue", exact=True).click()
    page.get_by_role("button", name="Inspect SN-E2E-1").click()
    page.get_by_label("Date of the last QA / calibration test").fill(_recent_date())
    for key in ("identity", "ownership", "regulatory", "qa_calibration", "photos"):
        page.locator(f'input[name="{key}_passed"][value="pass"]').check()
    page.get_by_role("button", name="Record inspection").click()
    expect(page.get_by_text("Certified. The certificate has been issued.")).to_be_visible()
    expect(page.get_by_test_id("device-status")).to_have_text("Certified")
    # No chain in this run: anchoring could not be sent, and the page says so.
    expect(page.get_by_test_id("anchor-status")).to_contain_text("Anchoring failed")
    verify_url = page.get_by_role("link", name="Verification page").get_attribute("href")
    _logout(page)

    assert page.goto(f"/verify/{device_id}/").status == 404  # no walking devices by sequential id
    assert not re.search(rf"/verify/{device_id}/$", verify_url)
    page.goto(verify_url)
    expect(page.get_by_test_id("verify-status")).to_have_text("Certified")
    expect(page.get_by_test_id("cert-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.get_by_test_id("appraisal-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.get_by_test_id("onchain-state")).to_contain_text("Chain unreachable")
    expect(page.get_by_test_id("doc-certificate-result")).to_have_text("Not checked: chain unreachable")
    expect(page.get_by_text("Matches the on-chain anchor")).to_have_count(0)
    expect(page.get_by_text("1250000")).to_have_count(0)
    href = page.get_by_role("link", name="Download the inspection certificate (PDF)").get_attribute("href")
    pdf = page.request.get(href).body()
    assert hashlib.sha256(pdf).hexdigest() == page.get_by_test_id("cert-sha256").inner_text()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "SN-E2E-1" in text and "PASS" in text and verify_url in text
    href = page.get_by_role("link", name="Download the appraisal report (PDF)").get_attribute("href")
    report = page.request.get(href).body()
    assert hashlib.sha256(report).hexdigest() == page.get_by_test_id("appraisal-sha256").inner_text()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(report)).pages)
    assert "declared by the clinic" in text and "measured (telemetry" not in text


def _recent_date() -> str:
    import datetime as dt

    from django.utils import timezone

    return (timezone.localdate() - dt.timedelta(days=20)).isoformat()


def test_bad_inputs_show_clear_errors(page, login):
    admin = make_user(Role.CLINIC_ADMIN)
    other_admin = make_user(Role.CLINIC_ADMIN)
    login(admin.email, PASSWORD)
    _register_ct(page, "SN-BAD-1", "(01)00208851107345(21)SN-BAD-1")
    expect(page.get_by_text("The GTIN check digit is wrong: expected 7, got 5.")).to_be_visible()

    page.get_by_label("UDI", exact=True).fill(f"(01){GTIN}(21)SN-BAD-1")
    page.get_by_role("button", name="Save device").click()
    expect(page.get_by_text("Device saved as a draft")).to_be_visible()
    device_id = re.search(r"/devices/(\d+)/", page.url).group(1)

    page.get_by_label("Document type").select_option("invoice")
    page.get_by_label("PDF document").set_input_files(_file("invoice.pdf", jpeg_bytes(), "application/pdf"))
    page.get_by_role("button", name="Upload document").click()
    expect(page.get_by_text("This file is not a PDF (whatever its name says).")).to_be_visible()

    huge = _file("huge.png", png_header_only(20000, 20000), "image/png")
    page.get_by_label("Photo", exact=True).set_input_files(huge)
    page.get_by_role("button", name="Upload photo").click()
    expect(page.get_by_text(re.compile("The image has too many pixels"))).to_be_visible()
    expect(page.get_by_text("No photos yet.")).to_be_visible()
    expect(page.get_by_text("No documents yet.")).to_be_visible()

    page.goto("/devices/")
    _register_ct(page, "SN-BAD-1", f"(01){GTIN}(21)SN-BAD-1")
    expect(page.get_by_text("already registered by your clinic")).to_be_visible()
    _logout(page)

    login(other_admin.email, PASSWORD)
    resp = page.goto(f"/devices/{device_id}/")
    assert resp.status == 404
    _register_ct(page, "SN-BAD-1", f"(01){GTIN}(21)SN-BAD-1")
    expect(page.get_by_text(
        "A device with this UDI-DI and serial number is already registered by another clinic.")).to_be_visible()


def test_reviewer_requests_changes_and_clinic_resubmits(page, login, clinic_device_factory):
    device, admin = clinic_device_factory("submitted")
    appraiser = make_user(Role.APPRAISER)
    login(appraiser.email, PASSWORD)
    page.goto(f"/devices/{device.pk}/")
    page.get_by_role("button", name="Request changes").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    page.get_by_label("What needs to change").fill("Add a photo of the rating plate.")
    page.get_by_role("button", name="Request changes").click()
    expect(page.get_by_test_id("device-status")).to_have_text("Changes requested")
    _logout(page)

    login(admin.email, PASSWORD)
    page.goto(f"/devices/{device.pk}/")
    # the banner, not the timeline entry that records the same request
    banner = page.get_by_role("status").filter(has_text="Changes requested: Add a photo of the rating plate.")
    expect(banner).to_be_visible()
    page.get_by_label("Photo", exact=True).set_input_files(_file("plate.jpg", jpeg_bytes(), "image/jpeg"))
    page.get_by_role("button", name="Upload photo").click()
    page.get_by_role("button", name="Submit for appraisal").click()
    expect(page.get_by_test_id("device-status")).to_have_text("Submitted")
    expect(page.get_by_role("img", name=re.compile("Photo 2 of the device"))).to_be_visible()

"""The inspection and appraisal forms say what the rules do before they bite: the QA rule and a
stale QA date are shown before and on submission; a re-inspection and a re-appraisal start from
the last ones; the appraisal report reads as text for people (no code identifiers, no ids)."""

import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from pypdf import PdfReader

from assets import services
from assets.forms import AppraisalForm, CertificationForm, DeviceForm
from assets.models import DeviceStatus
from assets.samples import pdf_upload
from core.money import format_money

pytestmark = pytest.mark.django_db
ITEMS = [k for k, _ in services.CHECKLIST]
PASS = {k: {"passed": True, "notes": ""} for k in ITEMS}


def _post_data(qa_date, **results) -> dict:
    data = {"qa_calibration_date": qa_date.isoformat() if qa_date else ""}
    for k in ITEMS:
        data[f"{k}_passed"] = results.get(k, "pass")
    return data


def test_earliest_accepted_qa_date_matches_the_rule(settings):
    for months in (1, 6, 12):
        settings.ASSETS_QA_MAX_AGE_MONTHS = months
        day = dt.date(2024, 1, 1)
        while day < dt.date(2025, 3, 1):
            earliest = services.qa_calibration_earliest_valid(today=day)
            assert not services.qa_calibration_expired(earliest, today=day), (months, day)
            assert services.qa_calibration_expired(earliest - dt.timedelta(days=1), today=day), (months, day)
            day += dt.timedelta(days=1)


def test_the_inspection_page_states_the_qa_rule_before_anything_is_entered(client, clinic_device_factory, inspector):
    device, _ = clinic_device_factory("appraised")
    client.force_login(inspector)
    html = client.get(f"/devices/{device.pk}/inspect/").content.decode()
    earliest = services.qa_calibration_earliest_valid().isoformat()
    rule = re.search(r'data-testid="qa-rule">(.*?)</p>', html, re.S).group(1)
    assert "12 months" in rule and earliest in rule and "whole inspection" in rule
    assert f'data-qa-earliest="{earliest}"' in html and "assets/qa_date.js" in html
    # The warning exists (the script shows it as a date is typed) but says nothing yet.
    assert re.search(r'id="qa-date-warning"[^>]*hidden', html)


def test_a_stale_qa_date_with_qa_marked_pass_is_refused_with_the_rule_explained(
        client, clinic_device_factory, inspector):
    device, _ = clinic_device_factory("appraised")
    client.force_login(inspector)
    old = timezone.localdate() - dt.timedelta(days=400)
    r = client.post(f"/devices/{device.pk}/inspect/", _post_data(old))
    html = r.content.decode()
    assert r.status_code == 400
    error = re.search(r'id="id_qa_calibration_date_error"[^>]*>(.*?)</small>', html, re.S).group(1)
    assert old.isoformat() in error and "12 months" in error and "whole inspection" in error
    assert "new QA test" in error and "mark the QA item as failed" in error
    device.refresh_from_db()
    assert device.status == DeviceStatus.APPRAISED and not device.certifications.exists()

    r = client.post(f"/devices/{device.pk}/inspect/", _post_data(None))  # no date at all, QA marked pass
    assert r.status_code == 400 and "No QA / calibration test date is given" in r.content.decode()

    # Marked as failed, the old date is what the inspector means: recorded, the device goes back.
    r = client.post(f"/devices/{device.pk}/inspect/", _post_data(old, qa_calibration="fail"))
    assert r.status_code == 302
    device.refresh_from_db()
    assert device.status == DeviceStatus.CHANGES_REQUESTED and "older than 12 months" in device.status_reason


def test_a_re_inspection_starts_from_the_last_one_and_warns_of_its_stale_qa_date(
        client, clinic_device_factory, inspector):
    device, admin = clinic_device_factory("appraised")
    old = timezone.localdate() - dt.timedelta(days=400)
    items = {**PASS, "photos": {"passed": False, "notes": "Rear panel not shown."}}
    services.certification_complete(actor=inspector, device=device, items=items, qa_calibration_date=old)
    device.refresh_from_db()
    # The clinic adds a QA report and resubmits; a new appraisal is signed.
    services.device_document_add(actor=admin, device=device, upload=pdf_upload(), kind="qa_calibration")
    services.device_submit(actor=admin, device=device)
    appraiser = device.appraisals.get(status="signed").appraiser
    a = services.appraisal_create(actor=appraiser, device=device, effective_date=timezone.localdate(),
                                  replacement_cost_new="1500000", currency="USD")
    services.appraisal_sign(actor=appraiser, appraisal=a)

    client.force_login(inspector)
    r = client.get(f"/devices/{device.pk}/inspect/")
    html = r.content.decode()
    form = r.context["form"]
    assert form["qa_calibration_date"].value() == old
    assert form["identity_passed"].value() == "pass" and form["ownership_passed"].value() == "pass"
    # Failed last time: decided again, with what was found shown.
    assert form["photos_passed"].value() is None and form["qa_calibration_passed"].value() is None
    assert "Failed at the last inspection: Rear panel not shown." in html
    assert 'data-testid="last-inspection"' in html
    warning = re.search(r'id="qa-date-warning"([^>]*)>(.*?)</article>', html, re.S)
    assert "hidden" not in warning.group(1) and old.isoformat() in warning.group(2)


def test_a_re_appraisal_starts_from_the_last_signed_appraisal(client, clinic_device_factory, inspector):
    device, admin = clinic_device_factory("appraised")
    signed = device.appraisals.get(status="signed")
    services.certification_complete(actor=inspector, device=device, items=PASS,
                                    qa_calibration_date=timezone.localdate() - dt.timedelta(days=500))
    device.refresh_from_db()
    services.device_document_add(actor=admin, device=device, upload=pdf_upload(), kind="qa_calibration")
    services.device_submit(actor=admin, device=device)

    client.force_login(signed.appraiser)
    r = client.get(f"/devices/{device.pk}/appraise/")
    assert r.status_code == 200
    form = r.context["form"]
    assert form["replacement_cost_new"].value() == "1500000" and form["condition_factor"].value() == "0.9"
    assert form["comparables"].value() == "600000; -0.05; 2020 go.Up"
    assert form["technical_fee_per_exam"].value() == "245"  # typed by the appraiser last time
    assert form["utilization_per_day"].value() is None  # the clinic's declared figure is looked up again
    assert form["useful_life_years"].value() is None  # the modality default, not frozen as typed
    assert (form["weight_cost"].value(), form["weight_market"].value(), form["weight_income"].value()) == \
        ("0.5", "0.3", "0.2")
    assert form["effective_date"].value() == timezone.localdate()
    html = r.content.decode()
    assert 'data-testid="appraisal-prefilled"' in html
    assert format_money(signed.reconciled_value, signed.currency) in html
    # The help texts say where a blank comes from (translatable now, not code text).
    assert "Blank: 30.0 — declared by the clinic." in html
    assert "Blank: 8.2 years, the default for Computed tomography" in html and "CMII" in html

    # Posting the prefilled form gives the same inputs back.
    data = AppraisalForm.initial_from(signed)
    data["effective_date"] = timezone.localdate().isoformat()
    assert client.post(f"/devices/{device.pk}/appraise/", data).status_code == 302
    draft = device.appraisals.filter(status="draft").get()
    assert draft.inputs["market"]["comparables"] == signed.inputs["market"]["comparables"]
    assert draft.cost_value == signed.cost_value


def test_the_appraisal_report_names_the_useful_life_and_its_source_and_the_public_reference(
        clinic_device_factory):
    device, _ = clinic_device_factory("appraised")
    signed = device.appraisals.get(status="signed")
    assert signed.inputs["cost"]["useful_life_source"] == "modality_default"
    with signed.report_pdf.open("rb") as f:
        text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(f.read())).pages).split())
    assert "assets.valuation" not in text and "USEFUL_LIFE" not in text
    assert "8.2 years — modality default (Computed tomography)" in text and "CMII" in text
    assert device.public_ref in text and "appraisal 1 of this device" in text
    assert f"#{signed.pk}" not in text and f"device #{device.pk}" not in text


def test_labels_keep_their_acronyms():
    form = CertificationForm()
    assert form.fields["identity_notes"].label == "Notes: Identity matches UDI and serial number"
    assert form.fields["qa_calibration_notes"].label == "Notes: QA / calibration within the allowed period"
    assert form.fields["qa_calibration_date"].label == "Date of the last QA / calibration test"
    assert DeviceForm().fields["udi_raw"].label == "UDI"
    assert DeviceForm().fields["fda_510k"].label == "FDA 510(k) number"

"""The income approach reads measured usage when telemetry exists and says so; otherwise the
source shown is what the number really is."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from assets import services, usage
from telemetry.models import DailyRollup, EventKind, Tariff, TelemetryEvent

pytestmark = pytest.mark.django_db


def _measure(device, *, days=20, per_day=24, cpt_mix=(("74177", 2), ("70450", 1)), tariff=True):
    """`days` worked days before today with `per_day` completed exams each (rollups), and the
    matching procedure events in the given CPT mix (fee schedule weighting)."""
    today = timezone.now().astimezone(dt.UTC).date()
    seq = 0
    pattern = [c for c, n in cpt_mix for _ in range(n)]
    for i in range(1, days + 1):
        day = today - dt.timedelta(days=i)
        DailyRollup.objects.create(device=device, day=day, procedures_completed=per_day, online_hours=12)
        for j in range(per_day):
            seq += 1
            at = dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC) + dt.timedelta(minutes=15 * j)
            TelemetryEvent.objects.create(device=device, seq=seq, kind=EventKind.PROCEDURE,
                                          idempotency_key=f"k{seq}", occurred_at=at, received_at=at,
                                          status="COMPLETED", cpt_code=pattern[j % len(pattern)])
    if tariff:
        Tariff.objects.create(cpt_code="74177", payer="default", year=today.year, technical_fee=Decimal("300.00"))
        Tariff.objects.create(cpt_code="70450", payer="default", year=today.year - 1,
                              technical_fee=Decimal("120.00"))


def _appraise(appraiser, device, **kw):
    return services.appraisal_create(actor=appraiser, device=device, effective_date=timezone.localdate(),
                                     replacement_cost_new="1500000", currency="USD",
                                     weights={"cost": "1", "income": "1"}, **kw)


def test_telemetry_registers_its_usage_provider():
    assert "telemetry.appraisal_usage.device_usage" in usage.registered_usage_providers()


def test_with_rollups_the_income_approach_is_measured_telemetry(clinic_device_factory, appraiser):
    device, _ = clinic_device_factory("submitted")  # the clinic declared 30/day
    _measure(device, days=20, per_day=24)
    a = _appraise(appraiser, device)
    inc = a.inputs["income"]
    assert inc["exams_per_day"] == "24.0"  # measured, not the declared 30
    src = inc["sources"]["exams_per_day"]
    assert src["source"] == "telemetry" and src["label"] == "measured (telemetry, 20 days)"
    assert "480 completed exams on 20 operating days" in src["explanation"]
    # 2 × 300 (74177) + 1 × 120 (70450, last year's fee still in force) per 3 exams = 240.00
    assert inc["technical_fee_per_exam"] == "240.00"
    assert inc["sources"]["technical_fee_per_exam"]["source"] == "telemetry"
    assert a.income_value > 0
    services.appraisal_sign(actor=appraiser, appraisal=a)
    a.refresh_from_db()
    text = "".join(p.extract_text() for p in PdfReader(a.report_pdf.open("rb")).pages)
    assert "measured (telemetry, 20 days)" in text and "declared by the clinic" not in text


def test_a_typed_number_is_the_appraisers_even_when_telemetry_exists(clinic_device_factory, appraiser):
    device, _ = clinic_device_factory("submitted")
    _measure(device, days=5, per_day=10)
    a = _appraise(appraiser, device, utilization_per_day="40", technical_fee_per_exam="200")
    src = a.inputs["income"]["sources"]
    assert src["exams_per_day"]["source"] == "appraiser" and src["technical_fee_per_exam"]["source"] == "appraiser"
    assert "Telemetry measured 50 completed exams on 5 operating days" in src["exams_per_day"]["explanation"]
    assert a.inputs["income"]["exams_per_day"] == "40"


def test_without_telemetry_the_declared_figure_is_labelled_declared(clinic_device_factory, appraiser):
    device, _ = clinic_device_factory("submitted")
    a = _appraise(appraiser, device, technical_fee_per_exam="245")
    src = a.inputs["income"]["sources"]["exams_per_day"]
    assert a.inputs["income"]["exams_per_day"] == "30.0"
    assert src["source"] == "declared" and src["label"] == "declared by the clinic"
    assert "telemetry" not in src["source"] and "measured" not in src["label"]


def test_without_telemetry_or_declaration_the_modality_default_is_cited(clinic_device_factory, appraiser):
    device, _ = clinic_device_factory("submitted")
    device.declared_exams_per_day = None
    device.save(update_fields=["declared_exams_per_day"])
    a = _appraise(appraiser, device, technical_fee_per_exam="245")
    src = a.inputs["income"]["sources"]["exams_per_day"]
    assert a.inputs["income"]["exams_per_day"] == "33"
    assert src["source"] == "modality_default" and "CMII 2022–23" in src["label"]


def test_measured_usage_without_a_fee_in_the_currency_skips_income_and_says_why(clinic_device_factory,
                                                                                  appraiser):
    device, _ = clinic_device_factory("submitted")
    _measure(device, days=3, per_day=6, tariff=False)
    a = _appraise(appraiser, device)
    assert a.income_value is None and a.inputs["income"] is None
    skipped = a.inputs["income_not_used"]
    assert skipped["exams_per_day_source"]["label"] == "measured (telemetry, 3 days)"
    assert skipped["technical_fee_source"] is None and "no technical fee" in skipped["reason"]


def test_api_and_pages_show_the_source(clinic_device_factory, appraiser, api_as, client):
    device, _ = clinic_device_factory("submitted")
    _measure(device, days=7, per_day=12)
    client.force_login(appraiser)
    form = client.get(f"/devices/{device.pk}/appraise/").content.decode()
    assert "measured (telemetry, 7 days)" in form and "Blank: 12.0 — measured (telemetry, 7 days)." in form
    r = api_as(appraiser).post(f"/api/v1/devices/{device.pk}/appraisals/", {
        "replacement_cost_new": "1500000", "currency": "USD",
        "weights": {"cost": "1", "market": "0", "income": "1"}}, format="json")
    assert r.status_code == 201, r.content
    assert r.data["income_sources"]["exams_per_day"]["label"] == "measured (telemetry, 7 days)"
    assert r.data["income_sources"]["technical_fee_per_exam"]["source"] == "telemetry"
    page = client.get(f"/devices/{device.pk}/appraisals/{r.data['id']}/").content.decode()
    assert "12.0 — measured (telemetry, 7 days)" in page


def test_a_provider_breaking_the_contract_is_refused(clinic_device_factory, appraiser, monkeypatch):
    device, _ = clinic_device_factory("submitted")
    monkeypatch.setattr(usage, "_PROVIDERS", ["assets.tests.test_appraisal_usage.float_provider"])
    with pytest.raises(TypeError):
        _appraise(appraiser, device)


def float_provider(**kwargs):
    return {"exams_per_day": 12.5, "fee_per_exam": None, "days": 3, "period": (None, None)}



"""Demo devices for `make run`: a certified CT (real GS1 UDI, appraised, inspected) and a
draft MR, at the demo clinic. Idempotent: existing devices are left alone."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.demo import CLINIC_ORG
from accounts.models import Organization, User
from assets import services
from assets.models import Device
from assets.samples import pdf_upload, photo_upload

CT_SERIAL = "DEMO-CT-0001"
MR_SERIAL = "DEMO-MR-0001"
CT_UDI = f"(01)09506000134352(11)210301(21){CT_SERIAL}"


@transaction.atomic
def seed(stdout) -> None:
    clinic = Organization.objects.filter(name=CLINIC_ORG, kind=Organization.Kind.CLINIC).first()
    admin = User.objects.filter(email="clinic.admin@demo.medrwa.local").first()
    appraiser = User.objects.filter(email="appraiser@demo.medrwa.local").first()
    inspector = User.objects.filter(email="inspector@demo.medrwa.local").first()
    if not (clinic and admin and appraiser and inspector):
        stdout.write("assets: demo users missing; skipped demo devices")
        return
    if not Device.objects.filter(serial_number=CT_SERIAL).exists():
        ct = services.device_create(actor=admin, organization=clinic, data={
            "modality": "CT", "manufacturer": "Siemens Healthineers", "model_name": "SOMATOM go.Up",
            "serial_number": CT_SERIAL, "udi_raw": CT_UDI, "manufacture_date": dt.date(2021, 3, 1),
            "purchase_price": "1250000.00", "purchase_currency": "USD", "purchase_date": dt.date(2021, 6, 1),
            "install_site": "Radiology, level 1", "gpu_model": "NVIDIA RTX A6000", "gpu_count": 2,
            "gpu_memory_gb": 48, "fda_510k": "K183621", "eu_mdr_class": "IIb",
            "eu_certificate_number": "CE-DEMO-2021-01", "declared_exams_per_day": "30",
        })
        services.device_photo_add(actor=admin, device=ct, upload=photo_upload("ct-front.jpg"))
        services.device_document_add(actor=admin, device=ct, upload=pdf_upload("invoice.pdf", "Invoice CT-2021-06"),
                                     kind="invoice")
        services.device_submit(actor=admin, device=ct)
        appraisal = services.appraisal_create(
            actor=appraiser, device=ct, effective_date=timezone.localdate(), replacement_cost_new="1450000",
            currency="USD", condition_factor="0.9", technical_fee_per_exam="245",
            operating_cost_per_year="1400000",
            comparables=[{"price": "640000", "adjustment_fraction": "-0.05", "description": "2020 go.Up, refurb"},
                         {"price": "720000", "adjustment_fraction": "-0.10", "description": "2021 go.Up, 2 GPUs"}],
            weights={"cost": "0.5", "market": "0.3", "income": "0.2"})
        services.appraisal_sign(actor=appraiser, appraisal=appraisal)
        services.certification_complete(
            actor=inspector, device=ct, qa_calibration_date=timezone.localdate() - dt.timedelta(days=60),
            items={k: {"passed": True, "notes": "Checked on site"} for k, _ in services.CHECKLIST})
        stdout.write(f"assets: certified demo CT #{ct.pk} (verify at /verify/{ct.public_ref}/)")
    # The first run certifies before the chain is up, so the CT's anchoring failed; once the chain
    # process has deployed the AssetRegistry (and seeds again) it is sent now rather than at the
    # next periodic retry (assets.tasks.anchors_retry_due), which would send it within a minute.
    if services.device_anchors_retry_due():
        stdout.write("assets: anchoring of the demo CT sent again now that the AssetRegistry is deployed")
    if not Device.objects.filter(serial_number=MR_SERIAL).exists():
        services.device_create(actor=admin, organization=clinic, data={
            "modality": "MR", "manufacturer": "GE HealthCare", "model_name": "SIGNA Artist 1.5T",
            "serial_number": MR_SERIAL, "manufacture_date": dt.date(2019, 9, 1),
            "purchase_price": "1600000.00", "purchase_currency": "USD", "declared_exams_per_day": "24",
        })
        stdout.write("assets: draft demo MR")

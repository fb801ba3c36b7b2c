from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from telemetry.ingest import ingest_batch
from telemetry.models import DeviceCredential
from telemetry.processing import process_new_events
from tests.fixtures.telemetry import make_device, procedure

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_clinic_admin_issues_key_sees_usage_and_admin_clears_a_flag(page, login, clinic_admin, platform_admin):
    device = make_device(clinic_admin.memberships.first().organization)
    login(clinic_admin.email, PASSWORD)
    page.get_by_role("link", name="Telemetry").first.click()
    expect(page.get_by_role("heading", name="Telemetry health")).to_be_visible()
    page.get_by_role("link", name=str(device)).click()
    page.get_by_role("link", name="Device credentials").click()
    page.get_by_label("Label").fill("CT01 agent")
    page.get_by_role("button", name="Issue key").click()
    expect(page.get_by_text("it is shown only once")).to_be_visible()
    secret = page.get_by_test_id("issued-secret").inner_text()
    cred = DeviceCredential.objects.get(device=device)
    assert len(secret) > 30 and secret not in cred.secret_encrypted
    page.reload()  # a GET: the secret is gone for good
    expect(page.get_by_text(cred.key_id)).to_be_visible()
    expect(page.get_by_text(secret)).to_have_count(0)

    # The device reports: two exams yesterday, one with impossible GPU energy.
    yesterday = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    ingest_batch(credential=cred, events=[procedure(1, key="1.2.840.5.1", end=yesterday),
                                          procedure(2, key="1.2.840.5.2", end=yesterday + timedelta(hours=1),
                                                    gpu_s="60.0", energy="600000.0")])
    process_new_events(lag=timedelta(0))
    page.goto(f"/telemetry/devices/{device.pk}/")
    expect(page.get_by_role("img", name="Procedures per day")).to_be_visible()
    expect(page.get_by_role("cell", name="GPU energy inconsistent with GPU seconds")).to_be_visible()
    expect(page.get_by_text("Open — excluded from revenue")).to_be_visible()
    expect(page.get_by_role("cell", name="1.2.840.5.1")).to_be_visible()
    assert page.evaluate("() => Chart.getChart('chart-procedures').data.datasets[0].data.reduce((a, b) => a + b)") == 2
    page.get_by_role("button", name="Log out").click()

    login(platform_admin.email, PASSWORD)
    page.goto("/telemetry/")
    page.get_by_role("link", name="Review flag").first.click()
    page.get_by_label("Reason").fill("Dual-source scan, verified with the vendor's service log")
    page.get_by_role("button", name="Clear flag").click()
    expect(page.get_by_text("Flag cleared: GPU energy inconsistent with GPU seconds.")).to_be_visible()
    expect(page.get_by_text("No plausibility flags.")).to_be_visible()

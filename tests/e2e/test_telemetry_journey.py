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


def test_platform_admin_sets_a_fee_then_closes_and_settles_a_month(page, login, clinic_admin, platform_admin):
    from telemetry.services import credential_issue

    device = make_device(clinic_admin.memberships.first().organization)
    cred = credential_issue(actor=clinic_admin, device=device).credential
    last_month = datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0) - timedelta(days=3)
    ingest_batch(credential=cred, events=[procedure(1, end=last_month),
                                          procedure(2, end=last_month + timedelta(hours=1)),
                                          procedure(3, end=last_month + timedelta(hours=2), gpu_s="60.0",
                                                    energy="600000.0")])
    month = f"{last_month:%Y-%m}"
    login(platform_admin.email, PASSWORD)
    page.get_by_role("link", name="Tariffs").first.click()
    expect(page.get_by_text("No fees yet")).to_be_visible()
    page.get_by_label("CPT code").fill("74177")
    page.get_by_label("Payer").fill("default")
    page.get_by_label("Year").fill(str(last_month.year))
    page.get_by_label("Technical fee").fill("245.00")
    page.get_by_role("button", name="Save fee").click()
    expect(page.get_by_role("cell", name="245.00 USD")).to_be_visible()

    page.goto(f"/telemetry/devices/{device.pk}/")
    row = page.get_by_role("row").filter(has_text=month)
    # Two exams priced, the implausible one visibly left out until a flag is cleared.
    expect(row.get_by_role("cell", name="490.00 USD")).to_be_visible()
    expect(row.get_by_role("cell", name="1", exact=True)).to_be_visible()
    row.get_by_role("button", name=f"Close {month}").click()
    expect(page.get_by_text(f"{month} closed: 490.00 USD.")).to_be_visible()
    page.get_by_role("row").filter(has_text=month).get_by_role("button", name=f"Settle {month}").click()
    expect(page.get_by_text(f"{month} settled: 490.00 USD.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=month).get_by_role("cell", name="settled")).to_be_visible()

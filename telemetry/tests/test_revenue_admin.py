"""Fee schedule and revenue periods, managed by a platform admin (pages and API)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.tests.factories import make_user
from core.models import AuditEvent
from core.roles import Role
from telemetry.ingest import ingest_batch
from telemetry.models import FlagCode, PlausibilityFlag, RevenuePeriod, Tariff
from tests.fixtures.telemetry import procedure

pytestmark = pytest.mark.django_db


def _last_month_end() -> datetime:
    first = datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    return first - timedelta(days=3)


@pytest.fixture
def last_month(telemetry_credential):
    """Three completed CT exams last month, one of them with impossible GPU energy."""
    end = _last_month_end()
    ingest_batch(credential=telemetry_credential.credential, events=[
        procedure(1, end=end - timedelta(hours=2)),
        procedure(2, end=end - timedelta(hours=1), cpt="70450"),
        procedure(3, end=end, gpu_s="60.0", energy="600000.0"),
    ])
    return telemetry_credential.credential.device, end


def test_tariff_api_sets_replaces_and_validates(api_as, platform_admin, clinic_admin):
    api = api_as(platform_admin)
    r = api.post("/api/v1/telemetry/tariffs/", {"cpt_code": "74177", "payer": "Medicare", "year": 2026,
                                                  "technical_fee": "245.00", "currency": "USD"}, format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["technical_fee"], r.json()["payer"]) == ("245.00", "Medicare")
    r = api.post("/api/v1/telemetry/tariffs/", {"cpt_code": "74177", "payer": "Medicare", "year": 2026,
                                                  "technical_fee": "250.10", "currency": "USD"}, format="json")
    assert r.status_code == 200
    assert Tariff.objects.get(cpt_code="74177", payer="Medicare", year=2026).technical_fee == Decimal("250.10")
    audit = AuditEvent.objects.filter(action="telemetry.tariff_set").order_by("pk").last()
    assert audit.before["technical_fee"] == "245.00" and audit.after["technical_fee"] == "250.10"

    bad = api.post("/api/v1/telemetry/tariffs/", {"cpt_code": "74177", "payer": "Medicare", "year": 2026,
                                                    "technical_fee": "-1", "currency": "USD"}, format="json")
    assert bad.status_code == 400 and "technical_fee" in bad.json()["error"]["details"]
    mixed = api.post("/api/v1/telemetry/tariffs/", {"cpt_code": "70450", "payer": "Medicare", "year": 2026,
                                                      "technical_fee": "110", "currency": "EUR"}, format="json")
    assert mixed.status_code == 400 and mixed.json()["error"]["code"] == "mixed_currencies"
    odd = api.post("/api/v1/telemetry/tariffs/", {"cpt_code": "70450", "year": 2026, "technical_fee": "110",
                                                    "currency": "XYZ"}, format="json")
    assert odd.status_code == 400 and "currency" in odd.json()["error"]["details"]
    assert [t["technical_fee"] for t in api.get("/api/v1/telemetry/tariffs/").json()] == ["250.10"]

    assert api_as(clinic_admin).get("/api/v1/telemetry/tariffs/").status_code == 403
    r = api_as(clinic_admin).post("/api/v1/telemetry/tariffs/", {"cpt_code": "74177", "year": 2026,
                                                                  "technical_fee": "1"}, format="json")
    assert r.status_code == 403
    assert Tariff.objects.count() == 1


def test_close_and_settle_through_the_api(api_as, platform_admin, clinic_admin, last_month):
    device, end = last_month
    Tariff.objects.create(cpt_code="74177", payer="default", year=end.year, technical_fee=Decimal("245.00"))
    api = api_as(platform_admin)
    periods = api.get(f"/api/v1/telemetry/devices/{device.pk}/periods/").json()
    month = next(p for p in periods if p["period_start"] == end.date().replace(day=1).isoformat())
    # 70450 has no fee (unpriced), the flagged exam is left out until cleared.
    assert (month["status"], month["procedures"], month["unpriced_procedures"], month["excluded_flagged"],
            month["amount"]) == ("open", 2, 1, 1, "245.00")

    r = api_as(clinic_admin).post(f"/api/v1/telemetry/devices/{device.pk}/periods/close/",
                                  {"period_start": end.date().isoformat()}, format="json")
    assert r.status_code == 403
    this_month = api.post(f"/api/v1/telemetry/devices/{device.pk}/periods/close/",
                          {"period_start": datetime.now(UTC).date().isoformat()}, format="json")
    assert this_month.status_code == 409 and this_month.json()["error"]["code"] == "period_not_over"

    r = api.post(f"/api/v1/telemetry/devices/{device.pk}/periods/close/",
                 {"period_start": end.date().isoformat()}, format="json")
    assert r.status_code == 201, r.content
    closed = r.json()
    assert (closed["status"], closed["amount"], closed["excluded_flagged"]) == ("closed", "245.00", 1)
    again = api.post(f"/api/v1/telemetry/devices/{device.pk}/periods/close/",
                     {"period_start": end.date().isoformat()}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "period_closed"

    # A closed month is frozen: clearing the flag or changing a fee afterwards changes nothing.
    from telemetry.services import flag_clear

    flag_clear(actor=platform_admin, flag=PlausibilityFlag.objects.get(code=FlagCode.GPU_ENERGY),
               reason="verified on site")
    Tariff.objects.filter(cpt_code="74177").update(technical_fee=Decimal("999.00"))
    period = RevenuePeriod.objects.get(pk=closed["id"])
    assert (period.amount, period.procedures) == (Decimal("245.00"), 2)

    assert api_as(clinic_admin).post(f"/api/v1/telemetry/periods/{period.pk}/settle/").status_code == 403
    r = api.post(f"/api/v1/telemetry/periods/{period.pk}/settle/")
    assert r.status_code == 200 and r.json()["status"] == "settled"
    twice = api.post(f"/api/v1/telemetry/periods/{period.pk}/settle/")
    assert twice.status_code == 409
    assert AuditEvent.objects.filter(action="telemetry.revenue_period_settle", object_id=str(period.pk)).count() == 1
    # The clinic sees its revenue periods, not another clinic's.
    assert api_as(clinic_admin).get(f"/api/v1/telemetry/devices/{device.pk}/periods/").json()[1]["status"] \
        == "settled"
    assert api_as(make_user(Role.CLINIC_ADMIN)).get(f"/api/v1/telemetry/devices/{device.pk}/periods/") \
        .status_code == 404


def test_tariff_page_saves_a_fee_and_shows_field_errors(client, platform_admin, clinic_admin):
    client.force_login(clinic_admin)
    assert client.get("/telemetry/tariffs/").status_code == 403
    client.force_login(platform_admin)
    r = client.post("/telemetry/tariffs/", {"cpt_code": "74177", "payer": "Medicare", "year": "2026",
                                            "technical_fee": "245.00", "currency": "USD"}, follow=True)
    html = r.content.decode()
    assert "Fee saved" in html and "245.00 USD" in html
    r = client.post("/telemetry/tariffs/", {"cpt_code": "7417", "payer": "Medicare", "year": "2026",
                                            "technical_fee": "-3", "currency": "USD"})
    html = r.content.decode()
    assert r.status_code == 200 and "A CPT code is 5 letters or digits" in html
    assert Tariff.objects.count() == 1


def test_device_page_closes_and_settles_a_month(client, platform_admin, clinic_admin, last_month):
    device, end = last_month
    Tariff.objects.create(cpt_code="74177", payer="default", year=end.year, technical_fee=Decimal("245.00"))
    client.force_login(clinic_admin)
    html = client.get(f"/telemetry/devices/{device.pk}/").content.decode()
    assert "Excluded (flagged)" in html and ">Close</button>" not in html
    assert client.post(f"/telemetry/devices/{device.pk}/periods/close/",
                       {"period_start": end.date().isoformat()}).status_code == 403

    client.force_login(platform_admin)
    html = client.get(f"/telemetry/devices/{device.pk}/").content.decode()
    assert f'aria-label="Close {end:%Y-%m}"' in html
    r = client.post(f"/telemetry/devices/{device.pk}/periods/close/", {"period_start": end.date().isoformat()},
                    follow=True)
    assert f"{end:%Y-%m} closed: 245.00 USD" in r.content.decode()
    period = RevenuePeriod.objects.get(device=device)
    r = client.post(f"/telemetry/devices/{device.pk}/periods/close/", {"period_start": end.date().isoformat()},
                    follow=True)
    assert "already closed" in r.content.decode()
    r = client.post(f"/telemetry/periods/{period.pk}/settle/", follow=True)
    assert f"{end:%Y-%m} settled" in r.content.decode()
    period.refresh_from_db()
    assert period.status == "settled"

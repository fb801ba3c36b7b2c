import json
from datetime import timedelta

import pytest

from accounts.tests.factories import make_user
from core.roles import Role
from telemetry.ingest import ingest_batch
from telemetry.models import DeviceCredential, FlagCode, PlausibilityFlag
from telemetry.processing import process_new_events
from tests.fixtures.telemetry import make_device, procedure

pytestmark = pytest.mark.django_db


def test_device_page_shows_procedures_chart_and_flags(client, clinic_admin, telemetry_credential):
    device = telemetry_credential.credential.device
    ingest_batch(credential=telemetry_credential.credential,
                 events=[procedure(1, key="1.2.840.99.1"), procedure(2, key="1.2.840.99.2", energy="999999.0")])
    process_new_events(lag=timedelta(0))
    client.force_login(clinic_admin)
    r = client.get(f"/telemetry/devices/{device.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.count("1.2.840.99.1") == 1
    assert "GPU energy inconsistent with GPU seconds" in html
    assert "chart.umd.min.js" in html
    data = json.loads(html.split('id="utilization-data"')[1].split(">", 1)[1].split("</script>")[0])
    assert sum(data["procedures"]) == 2 and len(data["labels"]) == 30


def test_other_clinics_cannot_see_the_device(client, telemetry_credential):
    device = telemetry_credential.credential.device
    client.force_login(make_user(Role.CLINIC_ADMIN))
    assert client.get(f"/telemetry/devices/{device.pk}/").status_code == 404
    assert client.get(f"/telemetry/devices/{device.pk}/credentials/").status_code == 404
    r = client.get("/telemetry/")
    assert r.status_code == 200 and str(device) not in r.content.decode()
    client.force_login(make_user(Role.INVESTOR))
    assert client.get("/telemetry/").status_code == 403


def test_health_page_for_clinic_and_admin(client, clinic_admin, platform_admin, telemetry_credential):
    device = telemetry_credential.credential.device
    other = make_device(make_user(Role.CLINIC_ADMIN).memberships.first().organization)
    ingest_batch(credential=telemetry_credential.credential, events=[procedure(1), procedure(4)])
    client.force_login(clinic_admin)
    html = client.get("/telemetry/").content.decode()
    assert str(device) in html and other.serial_number not in html
    assert "Sequence gap before this event" in html
    assert "Review flag" not in html  # clinics see flags, only admins clear them
    client.force_login(platform_admin)
    html = client.get("/telemetry/").content.decode()
    assert other.serial_number in html and "Review flag" in html


def test_admin_health_page_lists_only_devices_it_can_open(client, platform_admin):
    org = make_user(Role.CLINIC_ADMIN).memberships.first().organization
    certified, draft = make_device(org), make_device(org, status="draft")
    client.force_login(platform_admin)
    html = client.get("/telemetry/").content.decode()
    assert certified.serial_number in html and draft.serial_number not in html  # drafts stay the clinic's
    assert client.get(f"/telemetry/devices/{certified.pk}/").status_code == 200
    assert client.get(f"/telemetry/devices/{draft.pk}/").status_code == 404


def test_credential_secret_is_shown_once(client, clinic_admin, telemetry_device):
    client.force_login(clinic_admin)
    r = client.post(f"/telemetry/devices/{telemetry_device.pk}/credentials/", {"label": "CT01 agent"})
    assert r.status_code == 200
    cred = DeviceCredential.objects.get(device=telemetry_device)
    secret = r.context["issued"].secret
    assert secret in r.content.decode() and "shown only once" in r.content.decode()
    again = client.get(f"/telemetry/devices/{telemetry_device.pk}/credentials/").content.decode()
    assert cred.key_id in again and secret not in again
    r = client.post(f"/telemetry/credentials/{cred.pk}/revoke/", {"reason": "agent replaced"}, follow=True)
    assert "revoked" in r.content.decode()
    cred.refresh_from_db()
    assert cred.revoked_at is not None


def test_clinic_staff_cannot_manage_credentials(client, telemetry_device):
    staff = make_user(Role.CLINIC_STAFF, organization=telemetry_device.organization)
    client.force_login(staff)
    assert client.get(f"/telemetry/devices/{telemetry_device.pk}/").status_code == 200
    assert client.get(f"/telemetry/devices/{telemetry_device.pk}/credentials/").status_code == 403


def test_flag_clear_page_requires_a_reason(client, platform_admin, telemetry_credential):
    ingest_batch(credential=telemetry_credential.credential, events=[procedure(1, energy="999999.0")])
    flag = PlausibilityFlag.objects.get(code=FlagCode.GPU_ENERGY)
    client.force_login(platform_admin)
    r = client.post(f"/telemetry/flags/{flag.pk}/clear/", {"reason": ""})
    assert r.status_code == 200 and "This field is required" in r.content.decode()
    r = client.post(f"/telemetry/flags/{flag.pk}/clear/", {"reason": "Checked the scanner log", "next": "//evil.test/"})
    assert r.status_code == 302 and r["Location"] == "/telemetry/"
    flag.refresh_from_db()
    assert flag.clear_reason == "Checked the scanner log"


def test_api_issue_revoke_and_clear(api_as, clinic_admin, platform_admin, telemetry_device):
    r = api_as(clinic_admin).post(f"/api/v1/telemetry/devices/{telemetry_device.pk}/credentials/", {"label": "x"})
    assert r.status_code == 201 and r.json()["key_id"].startswith("dk_") and r.json()["secret"]
    cred = DeviceCredential.objects.get(key_id=r.json()["key_id"])
    ingest_batch(credential=cred, events=[procedure(3)])
    flag = PlausibilityFlag.objects.get(code=FlagCode.SEQUENCE_GAP)
    listed = api_as(clinic_admin).get("/api/v1/telemetry/flags/?open=1").json()
    assert [f["id"] for f in listed["results"]] == [flag.pk]
    r = api_as(clinic_admin).post(f"/api/v1/telemetry/flags/{flag.pk}/clear/", {"reason": "ok"})
    assert r.status_code == 403
    r = api_as(platform_admin).post(f"/api/v1/telemetry/flags/{flag.pk}/clear/", {})
    assert r.status_code == 400 and "reason" in r.json()["error"]["details"]
    r = api_as(platform_admin).post(f"/api/v1/telemetry/flags/{flag.pk}/clear/", {"reason": "spool restored"})
    assert r.status_code == 200 and r.json()["clear_reason"] == "spool restored"
    r = api_as(clinic_admin).post(f"/api/v1/telemetry/credentials/{cred.pk}/revoke/", {"reason": "rotated"})
    assert r.status_code == 200
    r = api_as(make_user(Role.CLINIC_ADMIN)).post(f"/api/v1/telemetry/devices/{telemetry_device.pk}/credentials/")
    assert r.status_code == 404
    usage = api_as(clinic_admin).get(f"/api/v1/telemetry/devices/{telemetry_device.pk}/usage/").json()
    assert len(usage) == 30


def test_flag_list_matches_the_published_schema(api_as, clinic_admin, telemetry_credential):
    # Found by scripts/fuzz_api.py: the schema promised a bare array while the API answers a page.
    from core.tests.openapi import assert_matches_schema

    ingest_batch(credential=telemetry_credential.credential, events=[procedure(3)])
    r = api_as(clinic_admin).get("/api/v1/telemetry/flags/")
    assert r.status_code == 200 and r.json()["count"] == 1
    assert_matches_schema(r, "/api/v1/telemetry/flags/")

"""Found by the permission matrix: a clinic may read its device's payer mix through the API
but not set it, and is told so (403) before its request body is judged."""

import pytest

from telemetry.models import PayerMix

pytestmark = pytest.mark.django_db


def test_clinic_admin_cannot_set_the_payer_mix_whatever_the_body(api_as, clinic_device_factory):
    device, admin = clinic_device_factory("certified")
    url = f"/api/v1/telemetry/devices/{device.pk}/payer-mix/"
    assert api_as(admin).get(url).status_code == 200
    for body in ({}, {"shares": [{"payer": "medicare", "share_pct": "100"}]}):
        r = api_as(admin).put(url, body, format="json")
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    assert not PayerMix.objects.filter(device=device).exists()


def test_platform_admin_setting_a_malformed_payer_mix_gets_a_validation_error(api_as, platform_admin,
                                                                             clinic_device_factory):
    device, _ = clinic_device_factory("certified")
    r = api_as(platform_admin).put(f"/api/v1/telemetry/devices/{device.pk}/payer-mix/", {}, format="json")
    assert r.status_code == 400 and "shares" in r.json()["error"]["details"]

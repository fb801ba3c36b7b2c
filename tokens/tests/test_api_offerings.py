"""The offerings API: the web's tokenize workflow as API calls (create → consent → deploy),
with the same services, visibility (404) and role (403) rules, and core's error shape."""

import re

import pytest

from accounts.tests.factories import make_user
from assets.models import DeviceStatus
from chain import gateway
from chain.models import ChainTransaction
from core.models import AuditEvent
from core.permissions import Role
from tokens.models import Offering, OfferingStatus
from tokens.offerings import services
from tokens.tests.factories import clinic_admin_of, make_certified_device, offering_terms

pytestmark = pytest.mark.django_db
BASE = "/api/v1/tokens/offerings/"
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _body(of, **over) -> dict:
    body = {"device": of.pk, "token_name": "Vida MRI Token", "token_symbol": "VIDA", "units": 1000,
            "price_per_unit": "250.00", "currency": "USD", "share_offered_pct": "40.00",
            "allowed_countries": [276, 250], "max_per_investor": 300, "holder_cap": 100,
            "revenue_share_pct": "30.00",
            "clinic_share_pct": "65.00"}
    body.update(over)
    return body


def _error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.content
    err = resp.json()["error"]
    assert err["code"] == code and err["message"]
    return err


def _draft(platform_admin, device=None) -> Offering:
    return services.offering_create(actor=platform_admin, device=device or make_certified_device(),
                                    data=offering_terms())


@pytest.mark.chain
def test_create_consent_deploy_goes_live_on_chain(chain_ready, api_as, platform_admin, drain_outbox):
    device = make_certified_device()
    owner = clinic_admin_of(device)
    admin_api, owner_api = api_as(platform_admin), api_as(owner)

    resp = admin_api.post(BASE, _body(device), format="json")
    assert resp.status_code == 201, resp.content
    created = resp.json()
    assert created["status"] == "draft" and created["token_address"] == ""
    assert created["allowed_countries"] == [250, 276] and created["transactions"] == []
    url = f"{BASE}{created['id']}/"

    listed = owner_api.get(BASE).json()
    assert [o["id"] for o in listed["results"]] == [created["id"]] and listed["count"] == 1

    resp = owner_api.post(f"{url}consent/", {"statement": "Northside agrees."}, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "consented" and resp.json()["consent_by"] == owner.email
    assert resp.json()["consent_statement"] == "Northside agrees."

    # No revenue measured yet: no yield can be shown in band, so a second person accepts first.
    _error(admin_api.post(f"{url}deploy/"), 409, "pricing_out_of_band")
    resp = api_as(make_user(Role.COMPLIANCE_OFFICER)).post(f"{url}pricing/accept/", {"reason": "New device."},
                                                           format="json")
    assert resp.status_code == 200 and resp.json()["pricing"]["deployable"], resp.content
    resp = admin_api.post(f"{url}deploy/")
    assert resp.status_code == 202, resp.content
    queued = resp.json()
    assert queued["status"] == "deploying"
    assert [(t["function"], t["status"]) for t in queued["transactions"]] == [("deployToken", "pending")]

    drain_outbox()
    detail = owner_api.get(url).json()
    assert detail["status"] == "live", detail["error"]
    assert detail["status_display"] == "Live" and detail["chain_id"] == 31337
    token = detail["token_address"]
    assert ADDRESS.match(token) and gateway.has_code(token)
    assert gateway.call("SecurityToken", token, "symbol") == "VIDA"
    assert sorted((t["function"], t["status"]) for t in detail["transactions"]) == [
        ("anchor", "confirmed"), ("deployToken", "confirmed")]
    assert all(t["tx_hash"] and t["block_number"] for t in detail["transactions"])
    assert detail["cap_table"] == {"supply": 0, "paused": False, "frozen_wallets": [], "holders": []}
    device.refresh_from_db()
    assert device.status == DeviceStatus.TOKENIZED
    assert AuditEvent.objects.filter(action="tokens.offering_consent", actor=owner).exists()


def test_investor_is_refused(api_as, platform_admin, investor):
    offering = _draft(platform_admin)
    api = api_as(investor)
    _error(api.get(BASE), 403, "permission_denied")
    _error(api.post(BASE, _body(make_certified_device()), format="json"), 403, "permission_denied")
    _error(api.post(f"{BASE}{offering.pk}/deploy/"), 403, "permission_denied")
    # An offering the investor may not see does not exist for them.
    _error(api.get(f"{BASE}{offering.pk}/"), 404, "not_found")
    _error(api.post(f"{BASE}{offering.pk}/consent/", {}, format="json"), 404, "not_found")
    assert Offering.objects.count() == 1
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.DRAFT and offering.consent_at is None


def test_anonymous_is_refused(client, platform_admin):
    offering = _draft(platform_admin)
    assert client.get(BASE).status_code in (401, 403)
    assert client.get(f"{BASE}{offering.pk}/").json()["error"]["code"] == "not_authenticated"


def test_other_clinic_sees_nothing_and_only_the_owning_admin_consents(api_as, platform_admin, clinic_admin):
    offering = _draft(platform_admin)
    other = api_as(clinic_admin)  # administrator of another clinic
    assert other.get(BASE).json()["results"] == []
    _error(other.get(f"{BASE}{offering.pk}/"), 404, "not_found")
    _error(other.post(f"{BASE}{offering.pk}/consent/", {}, format="json"), 404, "not_found")

    staff = make_user(Role.CLINIC_STAFF, organization=offering.device.organization)
    _error(api_as(staff).post(f"{BASE}{offering.pk}/consent/", {}, format="json"), 403, "forbidden")
    _error(api_as(platform_admin).post(f"{BASE}{offering.pk}/consent/", {}, format="json"), 403, "forbidden")
    offering.refresh_from_db()
    assert offering.consent_at is None

    owner = api_as(clinic_admin_of(offering.device))
    consented = owner.post(f"{BASE}{offering.pk}/consent/", {}, format="json").json()
    # Without a statement, one naming the terms is recorded.
    assert "1000 units at 250.00 USD" in consented["consent_statement"]
    err = _error(owner.post(f"{BASE}{offering.pk}/consent/", {}, format="json"), 409, "illegal_transition")
    assert err["details"] == {"current": "consented", "target": "consented"}


def test_deploy_requires_consent_and_platform_admin(api_as, platform_admin, compliance_officer):
    offering = _draft(platform_admin)
    err = _error(api_as(platform_admin).post(f"{BASE}{offering.pk}/deploy/"), 409, "consent_required")
    assert "consent" in err["message"]
    _error(api_as(clinic_admin_of(offering.device)).post(f"{BASE}{offering.pk}/deploy/"), 403, "permission_denied")
    _error(api_as(compliance_officer).post(f"{BASE}{offering.pk}/deploy/"), 403, "permission_denied")
    assert not ChainTransaction.objects.exists()
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.DRAFT
    assert not AuditEvent.objects.filter(action="tokens.offering_deploy").exists()


def test_list_visibility_and_status_filter(api_as, platform_admin, compliance_officer):
    mine, theirs = _draft(platform_admin), _draft(platform_admin)
    services.offering_record_consent(actor=clinic_admin_of(mine.device), offering=mine)
    for user in (platform_admin, compliance_officer):
        assert {o["id"] for o in api_as(user).get(BASE).json()["results"]} == {mine.pk, theirs.pk}
    owner = api_as(clinic_admin_of(mine.device))
    (row,) = owner.get(BASE).json()["results"]
    assert row["id"] == mine.pk and row["clinic_name"] == mine.device.organization.name
    assert row["status"] == "consented" and row["price_per_unit"] == "250.00"
    filtered = api_as(platform_admin).get(BASE, {"status": "draft"}).json()["results"]
    assert [o["id"] for o in filtered] == [theirs.pk]


def test_invalid_input_is_400_with_field_details(api_as, platform_admin):
    device = make_certified_device()
    api = api_as(platform_admin)

    err = _error(api.post(BASE, {"device": device.pk, "units": 0}, format="json"), 400, "validation_error")
    assert {"token_name", "token_symbol", "price_per_unit", "max_per_investor", "units"} <= set(err["details"])

    err = _error(api.post(BASE, _body(device, max_per_investor=5000, token_symbol="vida!",
                                      allowed_countries=[276, 4000]), format="json"), 400, "invalid_offering")
    assert err["details"]["max_per_investor"] == ["Cannot exceed the number of units."]
    assert set(err["details"]) == {"max_per_investor", "token_symbol", "allowed_countries"}

    err = _error(api.post(BASE, _body(device, currency="XXX"), format="json"), 400, "validation_error")
    assert "currency" in err["details"]
    err = _error(api.post(BASE, _body(device, lockup_until="2020-01-01"), format="json"), 400, "invalid_offering")
    assert "lockup_until" in err["details"]
    err = _error(api.post(BASE, _body(device, device=10**9), format="json"), 400, "validation_error")
    assert err["details"] == {"device": ["No such device."]}
    assert not Offering.objects.exists()


def test_only_certified_devices_once(api_as, platform_admin):
    api = api_as(platform_admin)
    device = make_certified_device()
    device.status = DeviceStatus.APPRAISED
    device.save()
    _error(api.post(BASE, _body(device), format="json"), 409, "device_not_certified")
    certified = make_certified_device()
    assert api.post(BASE, _body(certified), format="json").status_code == 201
    _error(api.post(BASE, _body(certified, token_symbol="VIDA2"), format="json"), 409, "offering_exists")
    assert Offering.objects.count() == 1


def test_a_zero_price_is_refused_at_offering_creation_with_a_field_error(api_as, platform_admin):
    device = make_certified_device()
    err = _error(api_as(platform_admin).post(BASE, _body(device, price_per_unit="0.00"), format="json"),
                 400, "invalid_offering")
    assert "price_per_unit" in err["details"]
    assert not Offering.objects.exists()


def test_waterfall_shares_must_add_up_to_100_and_a_reserve_needs_a_target(api_as, platform_admin):
    device = make_certified_device()
    client = api_as(platform_admin)
    err = _error(client.post(BASE, _body(device, clinic_share_pct="70.00"), format="json"), 400, "invalid_offering")
    assert "105" in " ".join(err["details"]["revenue_share_pct"])
    err = _error(client.post(BASE, _body(device, reserve_pct="5.00", clinic_share_pct="60.00"), format="json"),
                 400, "invalid_offering")
    assert "reserve_target" in err["details"]
    resp = client.post(BASE, _body(device, reserve_pct="5.00", reserve_target="25000.00", clinic_share_pct="60.00"),
                       format="json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["platform_fee_pct"], body["reserve_pct"], body["clinic_share_pct"], body["revenue_share_pct"]) == (
        "5.00", "5.00", "60.00", "30.00")


def test_terms_cannot_change_once_units_are_sold(platform_admin):
    from core.errors import ApplicationError
    from tokens.tests.factories import make_live_offering

    offering = make_live_offering()
    with pytest.raises(ApplicationError) as err:
        services.offering_update_terms(actor=platform_admin, offering=offering, data={"revenue_share_pct": "35"})
    assert err.value.code == "terms_locked"

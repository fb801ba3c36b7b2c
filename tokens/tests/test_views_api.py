"""Views and API without a chain node: permissions, forms, error shape."""

import pytest
from django.urls import reverse

from chain.models import ChainTransaction
from tokens.models import AgentAction, Offering, OfferingStatus
from tokens.offerings import services
from tokens.tests.factories import clinic_admin_of, make_certified_device, offering_terms

pytestmark = pytest.mark.django_db


def _live(platform_admin) -> Offering:
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    Offering.objects.filter(pk=offering.pk).update(status=OfferingStatus.LIVE, token_address="0x" + "cd" * 20)
    offering.refresh_from_db()
    return offering


def test_platform_admin_creates_offering_via_form(client, platform_admin):
    device = make_certified_device()
    client.force_login(platform_admin)
    resp = client.post(reverse("tokens:offering-create"), {
        "device": device.pk, "token_name": "Vida", "token_symbol": "VIDA", "units": 1000,
        "price_per_unit": "250.00", "currency": "USD", "share_offered_pct": "40", "allowed_countries": "276, 250",
        "max_per_investor": 5000, "holder_cap": 100, "revenue_share_pct": "30",
        "platform_fee_pct": "5", "reserve_pct": "5", "reserve_target": "20000", "clinic_share_pct": "60"})
    assert resp.status_code == 200
    assert "Cannot exceed the number of units." in resp.content.decode()
    assert not Offering.objects.exists()


def test_clinic_admin_consents_and_others_cannot(client, platform_admin, clinic_admin):
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    client.force_login(clinic_admin)  # admin of another clinic
    assert client.get(reverse("tokens:offering-detail", args=[offering.pk])).status_code == 404
    owner = clinic_admin_of(device)
    client.force_login(owner)
    page = client.get(reverse("tokens:offering-detail", args=[offering.pk])).content.decode()
    assert "Give consent" in page
    client.post(reverse("tokens:offering-consent", args=[offering.pk]), {"statement": "We agree."})
    offering.refresh_from_db()
    assert offering.consent_by == owner and offering.consent_statement == "We agree."
    assert offering.status == OfferingStatus.CONSENTED


def test_agent_action_pages_are_for_officers_only(client, platform_admin, investor):
    offering = _live(platform_admin)
    client.force_login(platform_admin)
    assert client.get(reverse("tokens:agent-actions", args=[offering.pk])).status_code == 403
    client.force_login(investor)
    assert client.get(reverse("tokens:agent-home")).status_code == 403


def test_officer_action_form_requires_reason_and_queues(client, platform_admin, compliance_officer):
    offering = _live(platform_admin)
    client.force_login(compliance_officer)
    url = reverse("tokens:agent-actions", args=[offering.pk])
    resp = client.post(url, {"kind": "freeze", "wallet": "0x" + "ab" * 20, "reason": ""})
    assert "This field is required." in resp.content.decode()
    resp = client.post(url, {"kind": "freeze", "wallet": "0x" + "ab" * 20, "reason": "Court order"}, follow=True)
    assert "Action submitted" in resp.content.decode()
    action = AgentAction.objects.get()
    assert action.chain_tx.function == "setAddressFrozen" and action.chain_tx.status == ChainTransaction.Status.PENDING
    assert "pending" in client.get(reverse("tokens:agent-actions-status", args=[offering.pk])).content.decode()


def test_api_agent_action_error_shape_and_permissions(api_as, platform_admin, compliance_officer):
    offering = _live(platform_admin)
    url = f"/api/v1/tokens/offerings/{offering.pk}/actions/"
    resp = api_as(platform_admin).post(url, {"kind": "pause", "reason": "x"}, format="json")
    assert resp.status_code == 403 and "error" in resp.json()
    resp = api_as(compliance_officer).post(url, {"kind": "freeze", "reason": "r", "wallet": "nope"}, format="json")
    assert resp.status_code == 400
    assert resp.json()["error"]["details"]["wallet"]
    resp = api_as(compliance_officer).post(url, {"kind": "pause", "reason": "Incident 7"}, format="json")
    assert resp.status_code == 201 and resp.json()["status"] == "pending"
    detail = api_as(compliance_officer).get(f"/api/v1/tokens/actions/{resp.json()['id']}/")
    assert detail.json()["reason"] == "Incident 7"

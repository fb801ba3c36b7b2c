"""Tokenize a certified device end to end on a real anvil: offering → clinic consent →
factory deploy (outbox) → anchor (outbox) → device tokenized; then officers' agent actions
reach the chain and show in the cap table built from indexed events."""

import pytest
from django.db import transaction

from assets.models import DeviceStatus
from chain import gateway
from chain.models import ChainTransaction
from chain.selectors import deployment_address
from chain.services import index_now, outbox_enqueue
from core.errors import ApplicationError
from core.models import AuditEvent
from tokens import ledger
from tokens.models import OfferingStatus
from tokens.offerings import selectors, services
from tokens.tests.factories import accept_pricing, clinic_admin_of, make_certified_device, offering_terms

pytestmark = pytest.mark.chain
INVESTOR = "0x" + "ab" * 20


def _live_offering(platform_admin, drain_outbox):
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    accept_pricing(offering)
    services.offering_deploy(actor=platform_admin, offering=offering)
    drain_outbox()
    offering.refresh_from_db()
    return offering


def test_tokenize_certified_device(chain_ready, platform_admin, drain_outbox):
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    with pytest.raises(ApplicationError) as exc:
        services.offering_deploy(actor=platform_admin, offering=offering)
    assert exc.value.code == "consent_required"
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    with pytest.raises(ApplicationError) as exc:  # no revenue measured yet: no yield shown in band
        services.offering_deploy(actor=platform_admin, offering=offering)
    assert exc.value.code == "pricing_out_of_band" and exc.value.status == 409
    accept_pricing(offering)
    services.offering_deploy(actor=platform_admin, offering=offering)
    drain_outbox()

    offering.refresh_from_db()
    device.refresh_from_db()
    assert offering.status == OfferingStatus.LIVE, offering.error
    assert device.status == DeviceStatus.TOKENIZED
    token = offering.token_address
    assert gateway.call("SecurityToken", token, "symbol") == "VIDA"
    assert gateway.call("SecurityToken", token, "complianceParams")[0] == 1000  # supply cap = units
    assert gateway.call("SecurityToken", token, "isCountryAllowed", 276) is True
    anchored = gateway.call("AssetRegistry", deployment_address("AssetRegistry"), "anchorOf",
                            offering.chain_device_id)
    cert = device.certifications.first()
    assert anchored[0] == "0x" + cert.certificate_sha256
    assert cert.anchor_tx_hash and cert.anchor_block_number
    assert AuditEvent.objects.filter(action="tokens.offering_consent").exists()
    # The token page's events are there as soon as it is live (indexed when anchoring confirms).
    assert selectors.token_events(offering=offering)


def test_only_certified_devices_and_platform_admins(chain_ready, platform_admin, clinic_admin):
    device = make_certified_device()
    with pytest.raises(ApplicationError) as exc:
        services.offering_create(actor=clinic_admin, device=device, data=offering_terms())
    assert exc.value.status == 403
    device.status = DeviceStatus.APPRAISED
    device.save()
    with pytest.raises(ApplicationError) as exc:
        services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    assert exc.value.code == "device_not_certified"


def test_agent_actions_reach_chain_and_cap_table(chain_ready, platform_admin, compliance_officer, drain_outbox):
    offering = _live_offering(platform_admin, drain_outbox)
    token = offering.token_address
    # Sell 100 units to a registered investor (the orders flow does this in production).
    registry = deployment_address("IdentityRegistry")
    with transaction.atomic():
        outbox_enqueue(actor=None, idempotency_key="t-reg", kind="test", contract_name="IdentityRegistry",
                       function="registerIdentity", args=[INVESTOR, INVESTOR, 276], to_address=registry)
        outbox_enqueue(actor=None, idempotency_key="t-mint", kind="test", contract_name="SecurityToken",
                       function="mint", args=[INVESTOR, 100], to_address=token)
    drain_outbox()

    with pytest.raises(ApplicationError) as exc:
        services.agent_action_request(actor=compliance_officer, offering=offering, kind="freeze",
                                      wallet=INVESTOR, reason="  ")
    assert "reason" in exc.value.details
    with pytest.raises(ApplicationError) as exc:
        services.agent_action_request(actor=platform_admin, offering=offering, kind="pause", reason="x")
    assert exc.value.status == 403

    freeze = services.agent_action_request(actor=compliance_officer, offering=offering, kind="freeze",
                                           wallet=INVESTOR, reason="Court order 42")
    partial = services.agent_action_request(actor=compliance_officer, offering=offering, kind="freeze_partial",
                                            wallet=INVESTOR, amount=10, reason="Disputed units")
    assert freeze.chain_tx.status == ChainTransaction.Status.PENDING
    drain_outbox()
    freeze.chain_tx.refresh_from_db()
    assert freeze.chain_tx.status == ChainTransaction.Status.CONFIRMED
    assert gateway.call("SecurityToken", token, "isFrozen", INVESTOR) is True
    assert gateway.call("SecurityToken", token, "getFrozenTokens", INVESTOR) == 10
    partial.chain_tx.refresh_from_db()
    assert partial.chain_tx.receipt["logs"][0]["event"] == "TokensFrozen"

    index_now()
    table = ledger.cap_table(offering=offering)
    assert table["supply"] == 100
    (holder,) = table["holders"]
    assert holder["units"] == 100 and holder["frozen"] is True and holder["frozen_units"] == 10
    assert AuditEvent.objects.filter(action="tokens.agent_freeze", reason="Court order 42").exists()
    index_now()  # idempotent
    assert ledger.cap_table(offering=offering)["supply"] == 100

    services.agent_action_request(actor=compliance_officer, offering=offering, kind="pause", reason="Incident")
    drain_outbox()
    assert gateway.call("SecurityToken", token, "paused") is True


def test_a_failed_anchoring_is_retried_under_a_new_key_and_the_offering_goes_live(chain_ready, platform_admin,
                                                                                  drain_outbox):
    from chain import processor

    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    accept_pricing(offering)
    services.offering_deploy(actor=platform_admin, offering=offering)
    deploy = ChainTransaction.objects.get(idempotency_key=offering.deploy_key)
    drain_outbox(ids=[deploy.pk])
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.ANCHORING
    # The anchoring transaction fails (as a reverted one would): the offering does not stay
    # in "anchoring" — it fails visibly and can be retried.
    first = ChainTransaction.objects.get(idempotency_key=offering.anchor_key)
    ChainTransaction.objects.filter(pk=first.pk).update(status="failed", error="reverted: simulated outage")
    processor.process_one(first.pk)
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.FAILED and "simulated outage" in offering.error
    services.offering_deploy(actor=platform_admin, offering=offering)  # the admin's retry
    drain_outbox()
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.LIVE, offering.error
    second = ChainTransaction.objects.get(idempotency_key=offering.anchor_key)
    assert second.pk != first.pk and second.status == "confirmed"
    assert gateway.call("TokenFactory", deployment_address("TokenFactory"), "tokenForDevice",
                        offering.chain_device_id).lower() == offering.token_address.lower()

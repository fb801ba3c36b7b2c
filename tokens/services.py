"""Tokenizing a certified device, and compliance officers' agent actions. Chain writes go
through the `chain` outbox; its confirmation hooks (tokens.chain_hooks) move offerings on."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assets.models import Device, DeviceStatus
from chain import selectors as chain_selectors
from chain.services import outbox_enqueue
from core.errors import ApplicationError, check_transition
from core.permissions import Role, user_clinic_ids, user_has_role
from core.services import audit, snapshot
from tokens.models import OFFERING_TRANSITIONS, AgentAction, AgentActionKind, Offering, OfferingStatus

OFFERING_FIELDS = ["token_name", "token_symbol", "units", "price_per_unit", "currency", "share_offered_pct",
                   "allowed_countries", "max_per_investor", "holder_cap", "lockup_until", "revenue_share_pct"]
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _require(actor, *roles, what: str):
    if not user_has_role(actor, *roles):
        raise ApplicationError("forbidden", f"Your role does not allow you to {what}.", status=403)


def _transition(*, actor, offering: Offering, target: str, action: str, reason: str = "", **changes):
    check_transition(entity="offering", table=OFFERING_TRANSITIONS, current=offering.status, target=target)
    before = snapshot(offering, ["status", *changes.keys()])
    offering.status = target
    for k, v in changes.items():
        setattr(offering, k, v)
    offering.save()
    audit(actor=actor, action=action, obj=offering, before=before,
          after=snapshot(offering, ["status", *changes.keys()]), reason=reason)
    return offering


def _validate_terms(data: dict) -> dict:
    errors: dict[str, list[str]] = {}
    units = int(data.get("units") or 0)
    if data.get("max_per_investor") and int(data["max_per_investor"]) > units:
        errors["max_per_investor"] = ["Cannot exceed the number of units."]
    countries = data.get("allowed_countries") or []
    if any(not (0 < int(c) < 1000) for c in countries):
        errors["allowed_countries"] = ["Use ISO 3166-1 numeric codes (1–999)."]
    if data.get("lockup_until") and data["lockup_until"] < timezone.localdate():
        errors["lockup_until"] = ["The lock-up end cannot be in the past."]
    symbol = data.get("token_symbol", "")
    if symbol and not re.fullmatch(r"[A-Z0-9]{2,11}", symbol):
        errors["token_symbol"] = ["2–11 capital letters or digits."]
    if errors:
        raise ApplicationError("invalid_offering", "Please correct the offering terms.", details=errors)
    data["allowed_countries"] = sorted({int(c) for c in countries})
    return data


@transaction.atomic
def offering_create(*, actor, device: Device, data: dict) -> Offering:
    """A platform admin proposes the offering for a certified device."""
    _require(actor, Role.PLATFORM_ADMIN, what="create offerings")
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.status != DeviceStatus.CERTIFIED:
        raise ApplicationError("device_not_certified", "Only a certified device can be tokenized.", status=409)
    if Offering.objects.filter(device=device).exists():
        raise ApplicationError("offering_exists", "This device already has an offering.", status=409)
    data = _validate_terms({k: data.get(k) for k in OFFERING_FIELDS})
    offering = Offering(device=device, created_by=actor, **data,
                        chain_device_id="0x" + hashlib.sha256(
                            f"medrwa-device:{device.pk}:{secrets.token_hex(16)}".encode()).hexdigest())
    offering.full_clean()
    offering.save()
    audit(actor=actor, action="tokens.offering_create", obj=offering, after=snapshot(offering, OFFERING_FIELDS))
    return offering


@transaction.atomic
def offering_record_consent(*, actor, offering: Offering, statement: str = "") -> Offering:
    """The clinic's administrator consents to tokenizing its device on these terms."""
    offering = Offering.objects.select_for_update().select_related("device").get(pk=offering.pk)
    if offering.device.organization_id not in user_clinic_ids(actor, roles={Role.CLINIC_ADMIN}):
        raise ApplicationError("forbidden", "Only an administrator of the device's clinic can consent.",
                               status=403)
    statement = statement or (f"{offering.device.organization} consents to tokenizing this device: "
                              f"{offering.units} units at {offering.price_per_unit} {offering.currency}, "
                              f"{offering.revenue_share_pct}% of revenue to holders.")
    return _transition(actor=actor, offering=offering, target=OfferingStatus.CONSENTED,
                       action="tokens.offering_consent", consent_by=actor, consent_at=timezone.now(),
                       consent_statement=statement)


def _lockup_ts(day: dt.date | None) -> int:
    if day is None:
        return 0
    return int(dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC).timestamp())


def token_params(offering: Offering) -> dict:
    from chain import gateway

    return {
        "name": offering.token_name, "symbol": offering.token_symbol,
        "owner": gateway.address_of("operator"), "agent": gateway.address_of("agent"),
        "identityRegistry": chain_selectors.deployment_address("IdentityRegistry"),
        "stablecoin": _stablecoin_address(),
        "supplyCap": offering.units, "maxBalance": offering.max_per_investor,
        "maxHolders": offering.holder_cap, "lockupUntil": _lockup_ts(offering.lockup_until),
        "allowedCountries": list(offering.allowed_countries),
    }


def _stablecoin_address() -> str:
    configured = getattr(settings, "CHAIN_STABLECOIN_ADDRESS", "")
    return configured or chain_selectors.deployment_address("MockStablecoin")


@transaction.atomic
def offering_deploy(*, actor, offering: Offering) -> Offering:
    """Deploy the device's token through the factory (via the outbox). Requires consent."""
    _require(actor, Role.PLATFORM_ADMIN, what="deploy tokens")
    offering = Offering.objects.select_for_update().get(pk=offering.pk)
    if offering.consent_at is None:
        raise ApplicationError("consent_required", "The clinic's consent must be recorded before deploying.",
                               status=409)
    if offering.status == OfferingStatus.FAILED:
        offering.deploy_attempt += 1
    params = token_params(offering)
    factory = chain_selectors.deployment_address("TokenFactory")
    _transition(actor=actor, offering=offering, target=OfferingStatus.DEPLOYING, action="tokens.offering_deploy",
                chain_id=settings.CHAIN_ID, error="", deploy_attempt=offering.deploy_attempt)
    outbox_enqueue(actor=actor, idempotency_key=offering.deploy_key, kind="tokens.deploy",
                   contract_name="TokenFactory", function="deployToken",
                   args=[offering.chain_device_id, params], to_address=factory, sender="agent",
                   reason=f"deploy token for offering {offering.public_id}")
    return offering


# --------------------------------------------------------------------- confirmation steps


def offering_token_deployed(*, offering: Offering, token_address: str, block_number: int) -> Offering:
    """Hook step: the factory deployment is confirmed → follow its events, anchor the hashes."""
    from assets.selectors import device_anchor_hashes
    from chain.services import index_follow

    offering = Offering.objects.select_for_update().select_related("device").get(pk=offering.pk)
    if offering.status != OfferingStatus.DEPLOYING:
        return offering
    index_follow(address=token_address, contract_name="SecurityToken", from_block=block_number)
    cert_hash, appraisal_hash = device_anchor_hashes(device=offering.device)
    _transition(actor=None, offering=offering, target=OfferingStatus.ANCHORING, action="tokens.token_deployed",
                token_address=token_address)
    outbox_enqueue(actor=None, idempotency_key=offering.anchor_key, kind="tokens.anchor",
                   contract_name="AssetRegistry", function="anchor",
                   args=[offering.chain_device_id, "0x" + cert_hash, "0x" + appraisal_hash],
                   to_address=chain_selectors.deployment_address("AssetRegistry"), sender="agent",
                   reason=f"anchor certificate and appraisal of offering {offering.public_id}")
    return offering


def offering_anchored(*, offering: Offering, tx_hash: str, block_number: int, chain_id: int,
                      registry_address: str) -> Offering:
    from assets.services import certificate_record_anchor, device_mark_tokenized

    offering = Offering.objects.select_for_update().select_related("device").get(pk=offering.pk)
    if offering.status != OfferingStatus.ANCHORING:
        return offering
    certificate_record_anchor(actor=None, device=offering.device, tx_hash=tx_hash, block_number=block_number,
                              chain_id=chain_id, registry_address=registry_address)
    if offering.device.status == DeviceStatus.CERTIFIED:
        device_mark_tokenized(actor=None, device=offering.device)
    return _transition(actor=None, offering=offering, target=OfferingStatus.LIVE, action="tokens.offering_live")


def offering_failed(*, offering: Offering, error: str) -> Offering:
    offering = Offering.objects.select_for_update().get(pk=offering.pk)
    if offering.status not in (OfferingStatus.DEPLOYING, OfferingStatus.ANCHORING):
        return offering
    return _transition(actor=None, offering=offering, target=OfferingStatus.FAILED, action="tokens.offering_failed",
                       reason=error[:500], error=error[:2000])


# --------------------------------------------------------------------- agent actions

_ACTION_CALLS = {
    AgentActionKind.PAUSE: ("pause", lambda a: []),
    AgentActionKind.UNPAUSE: ("unpause", lambda a: []),
    AgentActionKind.FREEZE: ("setAddressFrozen", lambda a: [a["wallet"], True]),
    AgentActionKind.UNFREEZE: ("setAddressFrozen", lambda a: [a["wallet"], False]),
    AgentActionKind.FREEZE_PARTIAL: ("freezePartialTokens", lambda a: [a["wallet"], a["amount"]]),
    AgentActionKind.UNFREEZE_PARTIAL: ("unfreezePartialTokens", lambda a: [a["wallet"], a["amount"]]),
    AgentActionKind.FORCED_TRANSFER: ("forcedTransfer", lambda a: [a["wallet"], a["to_wallet"], a["amount"]]),
    AgentActionKind.RECOVER: ("recoveryAddress", lambda a: [a["wallet"], a["to_wallet"], a["identity"]]),
}
_NEEDS_WALLET = {k for k in AgentActionKind if k not in (AgentActionKind.PAUSE, AgentActionKind.UNPAUSE)}
_NEEDS_TO = {AgentActionKind.FORCED_TRANSFER, AgentActionKind.RECOVER}
_NEEDS_AMOUNT = {AgentActionKind.FREEZE_PARTIAL, AgentActionKind.UNFREEZE_PARTIAL, AgentActionKind.FORCED_TRANSFER}


def _validate_action(kind: str, wallet: str, to_wallet: str, amount, reason: str) -> dict:
    errors: dict[str, list[str]] = {}
    if kind not in AgentActionKind.values:
        errors["kind"] = ["Unknown action."]
    if not (reason or "").strip():
        errors["reason"] = ["A reason is required."]
    if kind in _NEEDS_WALLET and not ADDRESS_RE.match(wallet or ""):
        errors["wallet"] = ["Enter a wallet address (0x followed by 40 hex digits)."]
    if kind in _NEEDS_TO and not ADDRESS_RE.match(to_wallet or ""):
        errors["to_wallet"] = ["Enter the destination wallet address."]
    if kind in _NEEDS_AMOUNT and (amount is None or int(amount) <= 0):
        errors["amount"] = ["Enter a positive number of units."]
    if errors:
        raise ApplicationError("invalid_action", "Please correct the action.", details=errors)
    return {"wallet": wallet if kind in _NEEDS_WALLET else "", "to_wallet": to_wallet if kind in _NEEDS_TO else "",
            "amount": int(amount) if kind in _NEEDS_AMOUNT else None}


@transaction.atomic
def agent_action_request(*, actor, offering: Offering, kind: str, reason: str, wallet: str = "",
                         to_wallet: str = "", amount: int | None = None) -> AgentAction:
    """A compliance officer's token action: audited, then executed through the outbox."""
    _require(actor, Role.COMPLIANCE_OFFICER, what="run token agent actions")
    if not offering.token_address or offering.status not in (OfferingStatus.ANCHORING, OfferingStatus.LIVE):
        raise ApplicationError("token_not_deployed", "This offering has no deployed token yet.", status=409)
    values = _validate_action(kind, wallet, to_wallet, amount, reason)
    call_args = dict(values)
    if kind == AgentActionKind.RECOVER:
        from chain import gateway

        identity = gateway.call("IdentityRegistry", chain_selectors.deployment_address("IdentityRegistry"),
                                "identity", values["to_wallet"])
        if int(identity, 16) == 0:
            raise ApplicationError("wallet_not_registered", "The new wallet is not registered to an investor.",
                                   details={"to_wallet": ["Register the new wallet to the investor first."]})
        call_args["identity"] = identity
    function, build = _ACTION_CALLS[kind]
    key = f"tokens.agent:{offering.public_id}:{kind}:{secrets.token_hex(8)}"
    tx = outbox_enqueue(actor=actor, idempotency_key=key, kind="tokens.agent_action", contract_name="SecurityToken",
                        function=function, args=build(call_args), to_address=offering.token_address,
                        sender="agent", reason=reason.strip())
    action = AgentAction(offering=offering, kind=kind, reason=reason.strip(), actor=actor, chain_tx=tx, **values)
    action.full_clean()
    action.save()
    audit(actor=actor, action=f"tokens.agent_{kind}", obj=offering, reason=reason.strip(),
          after={"kind": kind, **values, "amount": values["amount"], "outbox": tx.pk})
    return action

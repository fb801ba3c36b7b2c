"""Tokenizing a certified device, and compliance officers' agent actions. Chain writes go
through the `chain` outbox; its confirmation hooks (tokens.offerings.chain_hooks) move offerings on."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from assets.models import Device, DeviceStatus
from assets.selectors import device_anchor_hashes
from assets.services import certificate_record_anchor, device_mark_tokenized
from chain import gateway
from chain import selectors as chain_selectors
from chain.services import index_follow, outbox_enqueue
from core.errors import ApplicationError, check_transition
from core.money import format_money
from core.permissions import Role, user_clinic_ids, user_has_role
from core.services import audit, snapshot
from tokens import economics, waterfall
from tokens.ledger import stablecoin_address
from tokens.models import (
    OFFERING_TRANSITIONS,
    ORDER_HOLDING_STATUSES,
    AgentAction,
    AgentActionKind,
    AgentActionState,
    Offering,
    OfferingStatus,
)
from tokens.offerings import agent_confirmations as confirmations
from tokens.offerings import notices
from tokens.offerings.agent_confirmations import agent_action_enqueue

OFFERING_FIELDS = ["token_name", "token_symbol", "units", "price_per_unit", "currency", "share_offered_pct",
                   "allowed_countries", "max_per_investor", "holder_cap", "lockup_until", "revenue_share_pct",
                   "platform_fee_pct", "reserve_pct", "reserve_target", "clinic_share_pct",
                   "includes_compute_revenue"]
# Terms that bind investors: editable until the token is deployed, never once units are sold.
TERMS_LOCKED_STATUSES = (OfferingStatus.DEPLOYING, OfferingStatus.ANCHORING, OfferingStatus.LIVE)
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
logger = logging.getLogger(__name__)


def _require(actor, *roles, what: str):
    if not user_has_role(actor, *roles):
        raise ApplicationError("forbidden", gettext('Your role does not allow you to %(what)s.') % {"what": what},
            status=403)


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
    if data.get("price_per_unit") is not None and Decimal(data["price_per_unit"]) <= 0:
        errors["price_per_unit"] = ["A unit must cost more than 0."]
    try:
        waterfall.validate_terms(waterfall.Terms(
            platform_fee_pct=_dec(data.get("platform_fee_pct")), reserve_pct=_dec(data.get("reserve_pct")),
            reserve_target=_dec(data.get("reserve_target")), clinic_share_pct=_dec(data.get("clinic_share_pct")),
            holders_share_pct=_dec(data.get("revenue_share_pct"))))
    except waterfall.TermsError as exc:
        for k, v in exc.errors.items():
            errors.setdefault(k, []).extend(v)
    data["includes_compute_revenue"] = bool(data.get("includes_compute_revenue"))
    if errors:
        raise ApplicationError("invalid_offering", gettext("Please correct the offering terms."), details=errors)
    data["allowed_countries"] = sorted({int(c) for c in countries})
    return data


def _dec(value) -> Decimal | None:
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


@transaction.atomic
def offering_create(*, actor, device: Device, data: dict) -> Offering:
    """A platform admin proposes the offering for a certified device."""
    _require(actor, Role.PLATFORM_ADMIN, what="create offerings")
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.status != DeviceStatus.CERTIFIED:
        raise ApplicationError("device_not_certified", gettext("Only a certified device can be tokenized."), status=409)
    if Offering.objects.filter(device=device).exists():
        raise ApplicationError("offering_exists", gettext("This device already has an offering."), status=409)
    data = _validate_terms({k: data.get(k) for k in OFFERING_FIELDS})
    offering = Offering(device=device, created_by=actor, pricing_set_by=actor, **data,
                        chain_device_id="0x" + hashlib.sha256(
                            f"medrwa-device:{device.pk}:{secrets.token_hex(16)}".encode()).hexdigest())
    offering.full_clean()
    offering.save()
    audit(actor=actor, action="tokens.offering_create", obj=offering, after=snapshot(offering, OFFERING_FIELDS))
    notices.consent_needed(offering)
    return offering


@transaction.atomic
def offering_update_terms(*, actor, offering: Offering, data: dict) -> Offering:
    """Change the terms before the token is deployed. Refused once deployment started, and
    always once any unit is sold: investors bought on the terms they saw."""
    _require(actor, Role.PLATFORM_ADMIN, what="change offering terms")
    offering = Offering.objects.select_for_update().get(pk=offering.pk)

    if offering.status in TERMS_LOCKED_STATUSES or offering.orders.filter(status__in=ORDER_HOLDING_STATUSES).exists():
        raise ApplicationError("terms_locked", gettext(
            "The terms are fixed once the token is deployed or units are sold."),
                               status=409)
    merged = {k: data.get(k, getattr(offering, k)) for k in OFFERING_FIELDS}
    merged = _validate_terms(merged)
    before = snapshot(offering, [*OFFERING_FIELDS, *PRICING_ACCEPTANCE_FIELDS])
    pricing_before = economics.Pricing.of(offering).as_json()
    for k, v in merged.items():
        setattr(offering, k, v)
    # New terms need the clinic's consent again.
    offering.status, offering.consent_at, offering.consent_by, offering.consent_statement = (
        OfferingStatus.DRAFT, None, None, "")
    offering.full_clean()
    if economics.Pricing.of(offering).as_json() != pricing_before:
        # A second person accepted other figures; the one who set these may not accept them.
        offering.pricing_set_by = actor
        _clear_pricing_acceptance(offering)
    offering.save()
    audit(actor=actor, action="tokens.offering_update_terms", obj=offering, before=before,
          after=snapshot(offering, [*OFFERING_FIELDS, *PRICING_ACCEPTANCE_FIELDS]))
    notices.consent_needed(offering, terms_changed=True)
    return offering


def _clear_pricing_acceptance(offering: Offering) -> None:
    offering.pricing_review, offering.pricing_accepted_by, offering.pricing_accepted_at = {}, None, None
    offering.pricing_reason = ""


# --------------------------------------------------------------------- pricing exceptions

PRICING_ACCEPTANCE_FIELDS = ["pricing_set_by", "pricing_accepted_by", "pricing_accepted_at", "pricing_reason"]
PRICING_ACCEPTOR_ROLES = (Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN)  # the role recorded: the first held


def pricing_check(*, offering: Offering) -> economics.PricingCheck:
    return economics.offering_pricing(offering)


def pricing_refusal(*, offering: Offering, check: economics.PricingCheck) -> ApplicationError | None:
    """The error a deployment of `offering` meets now, or None: figures in band, or an
    exception a second person accepted that still covers them."""
    if check.in_band or economics.acceptance_covers(offering, check):
        return None
    accepted = offering.pricing_accepted_at is not None
    lead = (gettext("The accepted exception no longer covers this offering's pricing, and a second person "
                    "must accept it again:") if accepted else
            gettext("This offering's pricing is outside the platform's bands; a platform admin or compliance "
                    "officer other than the one who set the price must accept the exception first:"))
    return ApplicationError("pricing_out_of_band", " ".join([lead, *(r.message for r in check.reasons)]),
                            details={"reasons": [r.as_json() for r in check.reasons], "codes": check.codes,
                                     "accepted": accepted}, status=409)


@transaction.atomic
def offering_accept_pricing(*, actor, offering: Offering, reason: str) -> Offering:
    """A second person — a platform admin or compliance officer who did not set the price —
    accepts pricing outside the bands, in writing, before the token is deployed. The figures
    they saw are kept with the acceptance; changing the price, units or terms clears it."""
    _require(actor, *PRICING_ACCEPTOR_ROLES, what="accept offering pricing")
    offering = Offering.objects.select_for_update().select_related("device").get(pk=offering.pk)
    if actor.pk in (offering.pricing_author_id, offering.created_by_id):
        raise ApplicationError("pricing_four_eyes", gettext(
            "You set this offering's price: a second platform admin or compliance officer must accept it."),
            status=403)
    if offering.status in TERMS_LOCKED_STATUSES:
        raise ApplicationError("terms_locked", gettext(
            "The terms are fixed once the token is deployed or units are sold."), status=409)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("invalid_reason", gettext("Say why this pricing is acceptable."),
                               details={"reason": [gettext("A reason is required.")]})
    check = pricing_check(offering=offering)
    if check.in_band:
        raise ApplicationError("pricing_in_band", gettext(
            "This offering's pricing is within the bands: there is no exception to accept."), status=409)
    before = snapshot(offering, PRICING_ACCEPTANCE_FIELDS)
    role = next(r for r in PRICING_ACCEPTOR_ROLES if user_has_role(actor, r))
    offering.pricing_review = {**check.as_json(), "accepted_role": str(role)}
    offering.pricing_accepted_by, offering.pricing_accepted_at, offering.pricing_reason = actor, timezone.now(), reason
    offering.save(update_fields=["pricing_review", "pricing_accepted_by", "pricing_accepted_at", "pricing_reason",
                                 "updated_at"])
    audit(actor=actor, action="tokens.offering_accept_pricing", obj=offering, before=before,
          after={**snapshot(offering, PRICING_ACCEPTANCE_FIELDS), "role": str(role), "codes": check.codes,
                 "reasons": [r.message for r in check.reasons], "valuation": str(check.valuation),
                 "premium_pct": check.as_json()["premium_pct"],
                 "yield_pct": check.as_json()["projection"]["yield_pct"]},
          reason=reason)
    if offering.status == OfferingStatus.CONSENTED:  # the deployment waited on this acceptance
        notices.pricing_accepted(offering, by=actor)
    return offering


@transaction.atomic
def offering_record_consent(*, actor, offering: Offering, statement: str = "") -> Offering:
    """The clinic's administrator consents to tokenizing its device on these terms."""
    offering = Offering.objects.select_for_update().select_related("device").get(pk=offering.pk)
    if offering.device.organization_id not in user_clinic_ids(actor, roles={Role.CLINIC_ADMIN}):
        raise ApplicationError("forbidden", gettext("Only an administrator of the device's clinic can consent."),
                               status=403)
    check = pricing_check(offering=offering)
    flagged = "" if check.in_band else gettext("The platform flags this pricing as outside its bands: %(reasons)s") % {
        "reasons": " ".join(r.message for r in check.reasons)}
    # The clinic consents knowing what the platform flags: said in the statement the platform
    # writes for it (never added to the clinic's own words), and kept with the consent's audit.
    default = (f"{offering.device.organization} consents to tokenizing this device: "
               f"{offering.units} units at {format_money(offering.price_per_unit, offering.currency)}, "
               f"of gross revenue {offering.revenue_share_pct}% to holders (a pool of which each of "
               f"the {offering.units} units earns 1/{offering.units}; the part of units not sold "
               f"stays with the clinic), "
               f"{offering.platform_fee_pct}% platform fee, {offering.reserve_pct}% maintenance reserve "
               f"up to {format_money(offering.reserve_target, offering.currency)}, {offering.clinic_share_pct}% "
               f"kept by the clinic; compute revenue "
               f"{'included' if offering.includes_compute_revenue else 'not included'}.")
    statement = statement or " ".join(filter(None, [default, flagged]))
    offering = _transition(actor=actor, offering=offering, target=OfferingStatus.CONSENTED,
                           action="tokens.offering_consent", consent_by=actor, consent_at=timezone.now(),
                           consent_statement=statement, reason=flagged)
    notices.consent_given(offering, pricing_exception=pricing_refusal(offering=offering, check=check) is not None)
    return offering


def lockup_ts(day: dt.date | None) -> int:
    """A lock-up date as the contract's `lockupUntil` (unix seconds at 00:00 UTC; 0 = none)."""
    if day is None:
        return 0
    return int(dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC).timestamp())


def token_params(offering: Offering) -> dict:

    return {
        "name": offering.token_name, "symbol": offering.token_symbol,
        "owner": gateway.address_of("operator"), "agent": gateway.address_of("agent"),
        "identityRegistry": chain_selectors.deployment_address("IdentityRegistry"),
        "stablecoin": stablecoin_address(),
        "supplyCap": offering.units, "maxBalance": offering.max_per_investor,
        "maxHolders": offering.holder_cap, "lockupUntil": lockup_ts(offering.lockup_until),
        "allowedCountries": list(offering.allowed_countries),
        # The pool of each period is divided over these N units, by the terms hashed here.
        "totalUnits": offering.units, "termsHash": "0x" + pinned_terms_hash(offering),
    }


def pinned_terms_hash(offering: Offering) -> str:
    return waterfall.terms_hash(waterfall.Terms.of(offering), units=offering.units, currency=offering.currency)


@transaction.atomic
def offering_deploy(*, actor, offering: Offering) -> Offering:
    """Deploy the device's token through the factory (via the outbox). Requires consent."""
    _require(actor, Role.PLATFORM_ADMIN, what="deploy tokens")
    offering = Offering.objects.select_for_update().get(pk=offering.pk)
    if offering.consent_at is None:
        raise ApplicationError("consent_required", gettext("The clinic's consent must be recorded before deploying."),
                               status=409)
    refusal = pricing_refusal(offering=offering, check=pricing_check(offering=offering))
    if refusal is not None:
        raise refusal
    if offering.status == OfferingStatus.FAILED:
        offering.deploy_attempt += 1
    params = token_params(offering)
    factory = chain_selectors.deployment_address("TokenFactory")
    _transition(actor=actor, offering=offering, target=OfferingStatus.DEPLOYING, action="tokens.offering_deploy",
                chain_id=settings.CHAIN_ID, error="", deploy_attempt=offering.deploy_attempt,
                terms_hash=pinned_terms_hash(offering))
    outbox_enqueue(actor=actor, idempotency_key=offering.deploy_key, kind="tokens.deploy",
                   contract_name="TokenFactory", function="deployToken",
                   args=[offering.chain_device_id, params], to_address=factory, sender="agent",
                   reason=f"deploy token for offering {offering.public_id}")
    return offering


# --------------------------------------------------------------------- confirmation steps


def offering_token_deployed(*, offering: Offering, token_address: str, block_number: int) -> Offering:
    """Hook step: the factory deployment is confirmed → follow its events, anchor the hashes."""

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
    offering = _transition(actor=None, offering=offering, target=OfferingStatus.FAILED,
                           action="tokens.offering_failed", reason=error[:500], error=error[:2000])
    notices.deploy_failed(offering)
    return offering


# --------------------------------------------------------------------- agent actions

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
        raise ApplicationError("invalid_action", gettext("Please correct the action."), details=errors)
    return {"wallet": wallet if kind in _NEEDS_WALLET else "", "to_wallet": to_wallet if kind in _NEEDS_TO else "",
            "amount": int(amount) if kind in _NEEDS_AMOUNT else None}


# Forced transfers and recoveries take an investor's units without their signature, so they
# are limited in amount AND in time (issue 15, item 6), as a regulator expects of any
# privileged operation on client assets:
# - amount: above AGENT_ACTION_CONFIRM_ABOVE_UNITS moved out of one wallet in the rolling
#   window, or moved by one officer on their own signature across all wallets and tokens
#   (so a rogue or phished account cannot empty many wallets one threshold-sized piece at a
#   time), a second officer must confirm;
# - velocity: one officer may request at most AGENT_ACTION_MAX_PER_OFFICER of them per
#   rolling AGENT_ACTION_WINDOW_HOURS, whatever their size (429). They are exceptional (court
#   orders, lost keys): ten a day is far above honest use and bounds what a compromised
#   officer account does before anyone notices;
# - staleness: a held request must be confirmed within AGENT_ACTION_CONFIRM_WITHIN_HOURS
#   (tokens.offerings.agent_confirmations); after that it expires and must be filed again, so a second
#   officer always confirms facts (balances, court order, wallet ownership) as they are now,
#   and a request cannot lie dormant until a colluding officer is on duty.
# No cooling-off delay between confirmation and sending: the outbox has no "not before", and
# holding a confirmed court order or recovery only leaves the units movable meanwhile; an
# officer who needs time freezes the wallet first (one signature, undoable).


def _agent_window() -> dt.timedelta:
    return dt.timedelta(hours=int(getattr(settings, "AGENT_ACTION_WINDOW_HOURS", 24)))


def _agent_officer_rate_limit(*, actor, kinds, since: dt.datetime) -> None:
    """At most AGENT_ACTION_MAX_PER_OFFICER forced transfers and recoveries (`kinds`) requested
    by one officer in the rolling window, held, sent or rejected alike."""
    limit = int(getattr(settings, "AGENT_ACTION_MAX_PER_OFFICER", 10))
    # Lock the officer's row: two requests at once must not both see room for one more.
    get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
    times = list(AgentAction.objects.filter(actor=actor, kind__in=kinds, created_at__gte=since)
                 .order_by("created_at").values_list("created_at", flat=True))
    if len(times) < limit:
        return
    retry_after = max(1, int((times[len(times) - limit] + _agent_window() - timezone.now()).total_seconds()) + 1)
    logger.warning("Officer %s refused a forced transfer/recovery: %s requested in the last %s", actor.pk,
                   len(times), _agent_window())
    raise ApplicationError("agent_action_rate_limited", gettext(
        "You have reached the limit on forced transfers and recoveries per officer (%(limit)s in %(hours)s h). "
        "Try again later or ask another compliance officer.") % {
            "limit": limit, "hours": int(_agent_window().total_seconds() // 3600)},
        details={"limit": limit, "window_hours": int(_agent_window().total_seconds() // 3600),
                 "retry_after_s": retry_after}, status=429)


def _agent_units_recent(*, offering: Offering, kind: str, wallet: str, actor, kinds, since: dt.datetime) -> int:
    """Units already counted against the threshold in the window: the larger of what left
    this wallet (any officer, not rejected) and what this officer moved of `kinds` on their
    own signature."""
    from_wallet = 0
    if wallet:
        from_wallet = AgentAction.objects.filter(
            offering=offering, kind=kind, wallet__iexact=wallet, created_at__gte=since,
        ).exclude(state=AgentActionState.REJECTED).aggregate(n=Sum("units"))["n"] or 0
    by_officer = AgentAction.objects.filter(
        actor=actor, kind__in=kinds, state=AgentActionState.SUBMITTED, confirmed_by__isnull=True,
        created_at__gte=since,
    ).aggregate(n=Sum("units"))["n"] or 0
    return max(from_wallet, by_officer)


@transaction.atomic
def agent_action_request(*, actor, offering: Offering, kind: str, reason: str, wallet: str = "",
                         to_wallet: str = "", amount: int | None = None) -> AgentAction:
    """A compliance officer's token action: audited, then executed through the outbox, or,
    for a forced transfer or recovery above the threshold, held for a second officer."""
    _require(actor, Role.COMPLIANCE_OFFICER, what="run token agent actions")
    if not offering.token_address or offering.status not in (OfferingStatus.ANCHORING, OfferingStatus.LIVE):
        raise ApplicationError("token_not_deployed", gettext("This offering has no deployed token yet."), status=409)
    values = _validate_action(kind, wallet, to_wallet, amount, reason)
    since = timezone.now() - _agent_window()
    if kind in confirmations.CONFIRMED_KINDS:
        _agent_officer_rate_limit(actor=actor, kinds=confirmations.CONFIRMED_KINDS, since=since)
    confirmations.refuse_beyond_holding(offering=offering, kind=kind, wallet=values["wallet"],
                                        amount=values["amount"])
    call_args = dict(values)
    if kind == AgentActionKind.RECOVER:
        call_args["identity"] = confirmations.recovery_identity(lost_wallet=values["wallet"],
                                                                new_wallet=values["to_wallet"])
    units = confirmations.units_moved(offering=offering, kind=kind, wallet=values["wallet"], amount=values["amount"])
    action = AgentAction(offering=offering, kind=kind, reason=reason.strip(), actor=actor, units=units, **values)
    # The threshold applies to what leaves a wallet, and what one officer moves alone, in the
    # window, so splitting a large forced transfer into small ones still needs a second officer.
    recent = 0
    if kind in confirmations.CONFIRMED_KINDS:
        recent = _agent_units_recent(offering=offering, kind=kind, wallet=values["wallet"], actor=actor,
                                     kinds=confirmations.CONFIRMED_KINDS, since=since)
    if confirmations.needs_confirmation(kind=kind, units=None if units is None else units + recent):
        action.state = AgentActionState.AWAITING_CONFIRMATION
        action.full_clean()
        action.save()
        audit(actor=actor, action=f"tokens.agent_{kind}", obj=offering, reason=reason.strip(),
              after={"kind": kind, **values, "units": units, "state": action.state,
                     "confirm_by": confirmations.confirm_by(action).isoformat()})
        notices.confirmation_needed(action, confirm_by=confirmations.confirm_by(action))
        return action
    action.chain_tx = agent_action_enqueue(actor=actor, action=action, call_args=call_args)
    action.full_clean()
    action.save()
    audit(actor=actor, action=f"tokens.agent_{kind}", obj=offering, reason=reason.strip(),
          after={"kind": kind, **values, "amount": values["amount"], "outbox": action.chain_tx.pk})
    return action

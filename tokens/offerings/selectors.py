"""Reads: offerings visible to a user, cap tables built from indexed token events."""

from __future__ import annotations

import logging

from django.db.models import Q, QuerySet
from django.http import Http404

from assets.models import Device, DeviceStatus
from chain import gateway
from chain import selectors as chain_selectors
from chain.models import ChainTransaction
from core.permissions import Role, user_clinic_ids, user_has_role
from tokens.models import AgentAction, Offering, OfferingStatus

ZERO = "0x" + "0" * 40
logger = logging.getLogger(__name__)
STAFF_ROLES = (Role.PLATFORM_ADMIN, Role.COMPLIANCE_OFFICER)


def offering_list_for_user(*, user) -> QuerySet[Offering]:
    qs = Offering.objects.select_related("device", "device__organization")
    if user_has_role(user, *STAFF_ROLES):
        return qs
    return qs.filter(Q(device__organization_id__in=user_clinic_ids(user)))


def offering_get_for_user(*, user, offering_id) -> Offering:
    offering = offering_list_for_user(user=user).filter(pk=offering_id).first()
    if offering is None:
        raise Http404("No such offering.")
    return offering


def devices_ready_to_tokenize() -> QuerySet[Device]:
    return Device.objects.filter(status=DeviceStatus.CERTIFIED, offering__isnull=True).select_related("organization")


def tokens_overview(*, limit: int = 5) -> dict:
    """The platform admin's dashboard panel: what can be tokenized, what is on its way."""
    ready = devices_ready_to_tokenize().order_by("pk")
    in_progress = Offering.objects.exclude(status=OfferingStatus.LIVE).select_related("device").order_by("-pk")
    live = Offering.objects.filter(status=OfferingStatus.LIVE).select_related("device").order_by("-pk")
    return {
        "ready": list(ready[:limit]), "ready_count": ready.count(),
        "in_progress": list(in_progress[:limit]),
        "deploying_count": in_progress.filter(
            status__in=[OfferingStatus.DEPLOYING, OfferingStatus.ANCHORING]).count(),
        "live": list(live[:limit]), "live_count": live.count(),
    }


def live_offerings() -> QuerySet[Offering]:
    return Offering.objects.filter(status__in=[OfferingStatus.ANCHORING, OfferingStatus.LIVE]).exclude(
        token_address="").select_related("device")


def shared_contracts(*, offering: Offering) -> list:
    """The platform contracts this token works with (shown next to its own address)."""
    if not offering.token_address:
        return []
    wanted = ("TokenFactory", "IdentityRegistry", "AssetRegistry")
    return [d for d in chain_selectors.deployments() if d.name in wanted]


# Indexed string arguments reach a log as their keccak256 hash only (ERC-3643's
# UpdatedTokenInformation indexes the name and symbol): argument → the token's view function.
INDEXED_STRINGS = {"UpdatedTokenInformation": {"_newName": "name", "_newSymbol": "symbol"}}


def token_events(*, offering: Offering, limit: int = 20):
    """The token's latest confirmed events, with a name or symbol shown as its value (the
    offering's, or the token's own name()/symbol()) where the log only has its hash."""
    if not offering.token_address:
        return []
    events = chain_selectors.events_for(offering.token_address, newest_first=True, limit=limit)
    for ev in events:
        if ev.event in INDEXED_STRINGS:
            ev.args = _readable_strings(offering, ev.args, INDEXED_STRINGS[ev.event])
    return events


def _readable_strings(offering: Offering, args: dict, fields: dict[str, str]) -> dict:
    known = {gateway.keccak_text(v): v for v in (offering.token_name, offering.token_symbol) if v}
    args = dict(args)
    for arg, function in fields.items():
        digest = str(args.get(arg, "")).lower()
        if digest in known:
            args[arg] = known[digest]
            continue
        try:  # renamed on chain since the offering was made: the token says what it is called now
            value = str(gateway.call("SecurityToken", offering.token_address, function))
        except Exception as exc:  # the chain is down or the call failed: the hash is all there is to show
            logger.info("Could not read %s() of %s: %s", function, offering.token_address, exc)
            continue
        if gateway.keccak_text(value) == digest:
            args[arg] = value
    return args


def offering_transactions(*, offering: Offering) -> list[ChainTransaction]:
    keys = [f"tokens.deploy:{offering.public_id}:{i}" for i in range(offering.deploy_attempt + 1)]
    keys += [f"tokens.anchor:{offering.public_id}:{i}" for i in range(offering.deploy_attempt + 1)]
    keys.append(f"tokens.anchor:{offering.public_id}")  # before anchoring had attempts
    rows = chain_selectors.outbox_rows(keys=keys)
    rows += [a.chain_tx for a in offering_agent_actions(offering=offering) if a.chain_tx is not None]
    return sorted(rows, key=lambda r: (r.created_at, r.pk), reverse=True)


def offering_agent_actions(*, offering: Offering, limit: int = 50) -> list[AgentAction]:
    return list(offering.agent_actions.select_related("chain_tx", "actor")[:limit])


def agent_action_get(*, action_id) -> AgentAction:
    action = AgentAction.objects.select_related("chain_tx", "offering").filter(pk=action_id).first()
    if action is None:
        raise Http404("No such action.")
    return action


def device_for_offering(*, device_id) -> Device | None:
    """The device an offering is proposed for (platform admins see every device; whether it
    may be tokenized is the service's call, so it can say why not)."""
    return Device.objects.select_related("organization").filter(pk=device_id).first()


# --------------------------------------------------------------------- investors & orders

"""Reads: offerings visible to a user, cap tables built from indexed token events."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.http import Http404

from assets.models import Device, DeviceStatus
from chain import selectors as chain_selectors
from chain.models import ChainTransaction
from core.permissions import Role, user_clinic_ids, user_has_role
from tokens import ledger
from tokens.models import AgentAction, Offering, OfferingStatus, Order

ZERO = "0x" + "0" * 40
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


def cap_table(*, offering: Offering) -> dict:
    """Holdings per wallet from confirmed Transfer events, plus freezes and pause state."""
    balances: dict[str, int] = defaultdict(int)
    frozen_partial: dict[str, int] = defaultdict(int)
    frozen: dict[str, bool] = {}
    paused = False
    if offering.token_address:
        for ev in chain_selectors.events_for(offering.token_address):
            a = ev.args
            if ev.event == "Transfer":
                value = int(a["value"])
                if a["from"] != ZERO:
                    balances[a["from"]] -= value
                if a["to"] != ZERO:
                    balances[a["to"]] += value
            elif ev.event == "AddressFrozen":
                frozen[a["_userAddress"]] = bool(a["_isFrozen"])
            elif ev.event == "TokensFrozen":
                frozen_partial[a["_userAddress"]] += int(a["_amount"])
            elif ev.event == "TokensUnfrozen":
                frozen_partial[a["_userAddress"]] -= int(a["_amount"])
            elif ev.event == "Paused":
                paused = True
            elif ev.event == "Unpaused":
                paused = False
    supply = sum(v for v in balances.values() if v > 0)
    holders = [
        {"wallet": w, "units": units, "frozen": frozen.get(w, False), "frozen_units": frozen_partial.get(w, 0),
         "share_pct": (Decimal(units) * 100 / supply).quantize(Decimal("0.01")) if supply else Decimal(0)}
        for w, units in sorted(balances.items(), key=lambda kv: (-kv[1], kv[0])) if units > 0
    ]
    frozen_wallets = sorted(w for w, f in frozen.items() if f)
    return {"supply": supply, "holders": holders, "paused": paused, "frozen_wallets": frozen_wallets}


def shared_contracts(*, offering: Offering) -> list:
    """The platform contracts this token works with (shown next to its own address)."""
    if not offering.token_address:
        return []
    wanted = ("TokenFactory", "IdentityRegistry", "AssetRegistry")
    return [d for d in chain_selectors.deployments() if d.name in wanted]


def token_events(*, offering: Offering, limit: int = 20):
    if not offering.token_address:
        return []
    return chain_selectors.events_for(offering.token_address, newest_first=True, limit=limit)


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


def offerings_for_investors() -> QuerySet[Offering]:
    """Offerings open for investment (live, token deployed), with the units orders hold now."""
    from tokens.ledger import with_units_taken

    return with_units_taken(Offering.objects.filter(status=OfferingStatus.LIVE).exclude(token_address="")
                            .select_related("device", "device__organization"))


def offering_for_investor(*, offering_id) -> Offering:
    offering = offerings_for_investors().filter(pk=offering_id).first()
    if offering is None:
        raise Http404("No such offering.")
    return offering


def order_list_for_user(*, user):
    return Order.objects.filter(investor=user).select_related("offering", "offering__device", "mint_tx")


def order_get_for_user(*, user, order_id) -> Order:
    """The investor's own order; platform admins and compliance officers see any (404 otherwise)."""
    qs = Order.objects.select_related("offering", "offering__device", "offering__device__organization",
                                      "investor", "mint_tx")
    order = qs.filter(public_id=order_id).first()
    if order is None or not (order.investor_id == user.pk or user_has_role(user, *STAFF_ROLES)):
        raise Http404("No such order.")
    return order


def orders_for_admin(*, status: str = ""):
    qs = Order.objects.select_related("offering", "investor", "mint_tx")
    return qs.filter(status=status) if status else qs


def investor_holdings(*, user) -> list[dict]:
    """The user's token balances in every wallet of theirs, from the indexed Transfer events of
    every live token (only what is confirmed on chain) — units received by forced transfer or
    recovery included, not only purchases."""

    out, tables = [], {}
    for h in ledger.investor_holdings(user=user, live=False, periods=False):
        if h.units <= 0:
            continue
        if h.offering.pk not in tables:
            tables[h.offering.pk] = {r["wallet"].lower(): r for r in cap_table(offering=h.offering)["holders"]}
        row = tables[h.offering.pk].get(h.wallet.lower(), {})
        out.append({"offering": h.offering, "wallet": h.wallet, "wallet_kind": h.wallet_kind, "units": h.units,
                    "share_pct": row.get("share_pct", Decimal(0)), "frozen": row.get("frozen", False)})
    return out

"""Compliance holds bind on chain (issue 15, item 2).

A sanctions hit or a revoked approval changes the identity registry, which stops the
investor's wallets RECEIVING units: ERC-3643 checks `isVerified` on the receiver only. A
self-custody holder could still send units out and call `claimIncome`. So when compliance
puts an investor on hold, every wallet of theirs is frozen on every live token
(`batchSetAddressFrozen`, one transaction per token, through the outbox, audited): a frozen
wallet can neither send, receive, post an offer nor claim (the token refuses each). Income
distributed meanwhile accrues on chain as for any holder and becomes claimable when the hold
ends; an officer who decides otherwise unfreezes a wallet with the token's own action and a
reason. The release lifts only the freezes a hold set, and leaves a wallet an officer froze
by hand frozen.

Why not make `claimIncome` require a verified sender: the registry's verification also
lapses when KYC simply expires, and ERC-3643 treats an unverified holder as one who cannot
receive more, not as one whose property is blocked; the freeze is the standard's tool for
blocking, set by a deliberate, audited decision, and the token already refuses a frozen
caller's claim.
"""

from __future__ import annotations

import logging

from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from chain import gateway
from chain.services import outbox_enqueue
from core.permissions import Role
from core.services import audit
from notifications.models import Category
from notifications.services import notify_staff
from tokens.models import AgentAction, AgentActionKind, AgentActionState, HoldFreeze, Offering, OfferingStatus

logger = logging.getLogger(__name__)

KIND = "tokens.hold_freeze"
TOKEN = "SecurityToken"  # noqa: S105 - a contract name


def _live_offerings():
    return Offering.objects.filter(status__in=[OfferingStatus.ANCHORING, OfferingStatus.LIVE]).exclude(
        token_address="")


def on_investor_hold(*, profile, cause: str, reason: str, actor=None) -> list[HoldFreeze]:
    """compliance hook (inside the deciding transaction): freeze every wallet of the investor
    on every live token, except where a hold already froze it."""
    wallets = [gateway.to_checksum(w.address) for w in profile.wallets.all()]
    if not wallets:
        return []
    # One read of what earlier holds froze already, one insert for the new rows (not per token).
    held = set(HoldFreeze.objects.filter(wallet__in=wallets, released_at=None).values_list("offering_id", "wallet"))
    rows = []
    for offering in _live_offerings().select_for_update():
        todo = [w for w in wallets if (offering.pk, w) not in held]
        if not todo:
            continue
        tx = outbox_enqueue(actor=actor, idempotency_key=f"hold:{cause}:{offering.public_id}:freeze", kind=KIND,
                            contract_name=TOKEN, function="batchSetAddressFrozen", args=[todo, [True] * len(todo)],
                            to_address=offering.token_address, sender="agent", reason=reason[:500])
        rows += [HoldFreeze(offering=offering, investor=profile.user, wallet=w, cause=cause, reason=reason,
                            freeze_tx=tx) for w in todo]
        audit(actor=actor, action="tokens.hold_freeze", obj=offering, reason=reason,
              after={"investor": profile.user_id, "wallets": todo, "cause": cause, "outbox": tx.pk})
    return HoldFreeze.objects.bulk_create(rows)


def _frozen_by_officer(offering: Offering, wallet: str) -> bool:
    """Whether an officer's own last freeze/unfreeze action on this wallet left it frozen."""
    last = (AgentAction.objects.filter(offering=offering, wallet__iexact=wallet, state=AgentActionState.SUBMITTED,
                                       kind__in=[AgentActionKind.FREEZE, AgentActionKind.UNFREEZE])
            .order_by("-created_at", "-id").first())
    return last is not None and last.kind == AgentActionKind.FREEZE


def on_investor_release(*, profile, cause: str, reason: str, actor=None) -> list[HoldFreeze]:
    """compliance hook: lift the freezes the investor's holds set (ordered after each freeze)."""
    active = list(HoldFreeze.objects.select_for_update().select_related("offering", "freeze_tx")
                  .filter(investor=profile.user, released_at=None).order_by("offering_id", "id"))
    by_offering: dict[int, list[HoldFreeze]] = {}
    for f in active:
        by_offering.setdefault(f.offering_id, []).append(f)
    now = timezone.now()
    for rows in by_offering.values():
        offering = rows[0].offering
        lift = [f for f in rows if not _frozen_by_officer(offering, f.wallet)]
        tx = None
        if lift:
            tx = outbox_enqueue(
                actor=actor, idempotency_key=f"hold:{cause}:{offering.public_id}:release", kind=KIND,
                contract_name=TOKEN, function="batchSetAddressFrozen",
                args=[[f.wallet for f in lift], [False] * len(lift)], to_address=offering.token_address,
                sender="agent", after=max((f.freeze_tx for f in lift), key=lambda t: t.pk), reason=reason[:500])
        for f in rows:
            f.released_at, f.release_cause, f.release_reason = now, cause, reason
            f.release_tx = tx if f in lift else None
            f.save(update_fields=["released_at", "release_cause", "release_reason", "release_tx", "updated_at"])
        audit(actor=actor, action="tokens.hold_release", obj=offering, reason=reason,
              after={"investor": profile.user_id, "lifted": [f.wallet for f in lift],
                     "kept_frozen_by_officer": [f.wallet for f in rows if f not in lift], "cause": cause,
                     "outbox": tx.pk if tx else None})
    return active


def on_freeze_final(row) -> None:
    """chain hook: a hold's freeze or release that failed on chain is an alert for compliance
    officers (the investor's state on chain is not what the platform decided)."""
    if row.status != row.Status.FAILED:
        return
    logger.error("Hold freeze transaction %s (%s) failed: %s", row.pk, row.idempotency_key, row.error)
    audit(actor=None, action="tokens.hold_freeze_failed", obj=row,
          after={"key": row.idempotency_key, "args": row.args, "error": (row.error or "")[:300]})
    f = HoldFreeze.objects.select_related("offering").filter(freeze_tx=row).first() or \
        HoldFreeze.objects.select_related("offering").filter(release_tx=row).first()
    url = reverse("tokens:agent-actions", args=[f.offering.pk]) if f is not None else ""
    notify_staff(roles=[Role.COMPLIANCE_OFFICER], category=Category.KYC, event_key=f"hold-freeze-failed:{row.pk}",
                 url=url, title=gettext_lazy("A compliance hold could not be applied on chain"),
                 body=format_lazy(gettext_lazy("Freezing or unfreezing the wallets {wallets} on token {token} failed "
                                               "({error}). Freeze or unfreeze them from the token's actions."),
                                  wallets=", ".join(row.args[0]) if row.args else "", token=row.to_address,
                                  error=(row.error or "")[:200]))

"""Four-eyes on the agent actions that move an investor's units: a forced transfer or a
recovery above AGENT_ACTION_CONFIRM_ABOVE_UNITS waits for a second compliance officer, who
must confirm it within AGENT_ACTION_CONFIRM_WITHIN_HOURS (after that it expires), and a
recovery may only move units between two wallets of the same investor, as the platform's
Wallet records say (never what the destination wallet claims on chain)."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from chain import gateway
from chain.services import outbox_enqueue
from compliance.models import Wallet
from core.errors import ApplicationError
from core.permissions import Role, user_has_role
from core.services import audit
from tokens.models import AgentAction, AgentActionKind, AgentActionState

CONFIRMED_KINDS = {AgentActionKind.FORCED_TRANSFER, AgentActionKind.RECOVER}
logger = logging.getLogger(__name__)


def confirm_above_units() -> int:
    return int(getattr(settings, "AGENT_ACTION_CONFIRM_ABOVE_UNITS", 100))


def confirm_within() -> dt.timedelta:
    return dt.timedelta(hours=int(getattr(settings, "AGENT_ACTION_CONFIRM_WITHIN_HOURS", 24)))


def confirm_by(action: AgentAction) -> dt.datetime:
    """When a held action expires unless a second officer has confirmed it."""
    return (action.created_at or timezone.now()) + confirm_within()


def is_expired(action: AgentAction) -> bool:
    return action.state == AgentActionState.AWAITING_CONFIRMATION and timezone.now() >= confirm_by(action)


def recovery_identity(*, lost_wallet: str, new_wallet: str) -> str:
    """The investor identity both wallets belong to, from the platform's records."""

    lost = Wallet.objects.select_related("profile").filter(address__iexact=lost_wallet).first()
    new = Wallet.objects.select_related("profile").filter(address__iexact=new_wallet).first()
    if lost is None or new is None or lost.profile_id != new.profile_id:
        raise ApplicationError(
            "wallets_not_same_investor", gettext("Both wallets must belong to the same investor on the platform."),
            details={"to_wallet": [gettext("This wallet does not belong to the investor who owns the lost wallet.")]},
            status=409)
    if not new.registered_on_chain:
        raise ApplicationError("wallet_not_registered", gettext(
            "The new wallet is not registered to the investor yet."),
                               details={"to_wallet": [gettext("Wait until the new wallet is registered on chain.")]},
                               status=409)
    return lost.profile.identity_address


def units_moved(*, offering, kind: str, wallet: str, amount: int | None) -> int | None:
    """Units a forced transfer or recovery moves; None when the balance cannot be read (the
    caller then asks for a confirmation: fail closed)."""
    if kind == AgentActionKind.FORCED_TRANSFER:
        return int(amount or 0)
    if kind == AgentActionKind.RECOVER:
        try:

            return int(gateway.call("SecurityToken", offering.token_address, "balanceOf", wallet))
        except Exception:
            return None
    return None


# Actions that take a number of units out of what a wallet holds: a forced transfer moves at
# most its balance, a partial freeze at most its unfrozen units, a partial unfreeze at most its
# frozen units. The token refuses more on chain anyway, but only after the request was accepted
# (and perhaps confirmed by a second officer) and with a bare revert; refused here, the officer
# is told the wallet's holding before anything is recorded or sent.
AMOUNT_CHECKED_KINDS = {AgentActionKind.FORCED_TRANSFER, AgentActionKind.FREEZE_PARTIAL,
                        AgentActionKind.UNFREEZE_PARTIAL}


def units_available(*, offering, kind: str, wallet: str) -> int | None:
    """What `wallet` holds for this kind of action, read live; None when the chain cannot be
    read (the token still refuses on chain what the wallet does not hold)."""
    token = offering.token_address
    try:
        if kind == AgentActionKind.FORCED_TRANSFER:
            return int(gateway.call("SecurityToken", token, "balanceOf", wallet))
        frozen = int(gateway.call("SecurityToken", token, "getFrozenTokens", wallet))
        if kind == AgentActionKind.UNFREEZE_PARTIAL:
            return frozen
        return int(gateway.call("SecurityToken", token, "balanceOf", wallet)) - frozen
    except Exception as exc:
        logger.warning("Could not read the holding of %s on %s (%s); the token checks the amount on chain", wallet,
                       token, exc)
        return None


def refuse_beyond_holding(*, offering, kind: str, wallet: str, amount: int | None, held: bool = False) -> None:
    """409 when the action asks for more units than the wallet holds now (see
    AMOUNT_CHECKED_KINDS). `held`: a second officer is confirming an earlier request."""
    if kind not in AMOUNT_CHECKED_KINDS or amount is None:
        return
    available = units_available(offering=offering, kind=kind, wallet=wallet)
    if available is None or amount <= available:
        return
    values = {"available": available, "amount": amount}
    if kind == AgentActionKind.FORCED_TRANSFER:
        message = gettext("The wallet holds %(available)s units; a forced transfer cannot move %(amount)s.") % values
    elif kind == AgentActionKind.FREEZE_PARTIAL:
        message = gettext("The wallet has %(available)s unfrozen units; %(amount)s cannot be frozen.") % values
    else:
        message = gettext("The wallet has %(available)s frozen units; %(amount)s cannot be unfrozen.") % values
    if held:
        message = gettext("%(message)s Nothing was sent: reject this request, and file a new one if it is still "
                          "needed.") % {"message": message}
    raise ApplicationError("amount_exceeds_holding", message,
                           details={"amount": [message], "available": available, "requested": amount}, status=409)


def needs_confirmation(*, kind: str, units: int | None) -> bool:
    return kind in CONFIRMED_KINDS and (units is None or units > confirm_above_units())


def _lock(action: AgentAction) -> AgentAction:
    return AgentAction.objects.select_for_update().select_related("offering").get(pk=action.pk)


def _officer(actor) -> None:
    if not user_has_role(actor, Role.COMPLIANCE_OFFICER):
        raise ApplicationError("permission_denied", gettext("Only compliance officers confirm token actions."),
            status=403)


def agent_action_confirm(*, actor, action: AgentAction, reason: str = "") -> AgentAction:
    """The second officer's confirmation: the action is re-checked and sent to the chain. One
    confirmed too late is marked expired (audited, committed) and refused: file it again."""
    with transaction.atomic():
        action, expired = _confirm(actor=actor, action=action, reason=reason)
    if expired:
        hours = int(confirm_within().total_seconds() // 3600)
        raise ApplicationError("confirmation_expired", gettext(
            "This action was not confirmed in time (%(hours)s h allowed) and has expired; nothing was sent. "
            "File a new request if it is still needed.") % {"hours": hours},
            details={"confirm_by": confirm_by(action).isoformat()}, status=409)
    return action


def _confirm(*, actor, action: AgentAction, reason: str) -> tuple[AgentAction, bool]:
    _officer(actor)
    action = _lock(action)
    if action.state != AgentActionState.AWAITING_CONFIRMATION:
        raise ApplicationError("not_awaiting", gettext("This action is not waiting for a confirmation."), status=409)
    if action.actor_id == actor.pk:
        raise ApplicationError("four_eyes", gettext("A second, different officer must confirm this action."),
            status=409)
    if is_expired(action):
        action.state, action.confirmed_at = AgentActionState.REJECTED, timezone.now()
        action.decision_reason = gettext("Expired: no second officer confirmed it in time (%(hours)s h allowed).") % {
            "hours": int(confirm_within().total_seconds() // 3600)}
        action.save()
        audit(actor=actor, action="tokens.agent_action_expire", obj=action.offering, reason=action.decision_reason,
              after={"action": action.pk, "kind": action.kind, "units": action.units,
                     "requested_at": action.created_at.isoformat(), "confirm_by": confirm_by(action).isoformat()})
        return action, True
    # The balance may have changed since the request: confirm only what the wallet still holds.
    refuse_beyond_holding(offering=action.offering, kind=action.kind, wallet=action.wallet, amount=action.amount,
                          held=True)
    call_args = {"wallet": action.wallet, "to_wallet": action.to_wallet, "amount": action.amount}
    if action.kind == AgentActionKind.RECOVER:
        call_args["identity"] = recovery_identity(lost_wallet=action.wallet, new_wallet=action.to_wallet)
    action.chain_tx = agent_action_enqueue(actor=actor, action=action, call_args=call_args)
    action.state, action.confirmed_by, action.confirmed_at = AgentActionState.SUBMITTED, actor, timezone.now()
    action.decision_reason = (reason or "").strip()
    action.full_clean()
    action.save()
    audit(actor=actor, action="tokens.agent_action_confirm", obj=action.offering, reason=action.decision_reason,
          after={"action": action.pk, "kind": action.kind, "units": action.units, "outbox": action.chain_tx_id,
                 "requested_by": action.actor_id})
    return action, False


@transaction.atomic
def agent_action_reject(*, actor, action: AgentAction, reason: str) -> AgentAction:
    """A second officer (or the requester, withdrawing it) stops the action; nothing is sent."""
    _officer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", gettext("Give a reason."), details={"reason": [gettext(
            "A reason is required.")]})
    action = _lock(action)
    if action.state != AgentActionState.AWAITING_CONFIRMATION:
        raise ApplicationError("not_awaiting", gettext("This action is not waiting for a confirmation."), status=409)
    action.state, action.confirmed_by, action.confirmed_at = AgentActionState.REJECTED, actor, timezone.now()
    action.decision_reason = reason
    action.save()
    audit(actor=actor, action="tokens.agent_action_reject", obj=action.offering, reason=reason,
          after={"action": action.pk, "kind": action.kind, "units": action.units})
    return action


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


def agent_action_enqueue(*, actor, action: AgentAction, call_args: dict):
    function, build = _ACTION_CALLS[action.kind]
    key = f"tokens.agent:{action.offering.public_id}:{action.kind}:{secrets.token_hex(8)}"
    return outbox_enqueue(actor=actor, idempotency_key=key, kind="tokens.agent_action", contract_name="SecurityToken",
                          function=function, args=build(call_args), to_address=action.offering.token_address,
                          sender="agent", reason=action.reason)

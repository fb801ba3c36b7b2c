"""Investors' income: what each holding earned per distribution (read from the chain and
its indexed events), claims (custodial: the platform claims for the holder; batch for many
custodial wallets in one transaction; self-custody: the holder's browser wallet signs and
the page follows the transaction), and withdrawal of claimed stablecoin from the custodial
wallet to a linked self-custody wallet (EIP-2612 permit signed with the custodial key; the
platform's agent sends and pays the gas, so custodial wallets never need ETH)."""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext

from chain import gateway
from chain.services import index_address, outbox_enqueue
from compliance.models import Wallet
from compliance.selectors import custodial_wallet, investor_is_eligible, investor_wallet
from core.crypto import decrypt_str
from core.errors import ApplicationError
from core.money import from_token_units, to_token_units, unit_price_text
from core.permissions import Role, user_has_role
from core.services import audit
from tokens import costs
from tokens.ledger import Holding, balances_at, norm, stablecoin_address, tracked_tx
from tokens.models import Distribution, IncomeClaim, Offering

BATCH_SIZE = 100  # wallets per batch-claim transaction (gas stays far below a block)


# --------------------------------------------------------------------------- reads


def income_summary(holdings: list[Holding], performances: list | None = None) -> dict:
    """Income per month and in total, what was paid for the units held now (cost basis,
    tokens.costs) and the portfolio's realised yield on what was paid, labelled with the months
    it rests on (tokens.costs.realised_yield: None before any income; an implausible figure is
    not published). `annualised_yield_pct` is that yield a year when it may be shown, else None."""
    by_period: dict[str, Decimal] = defaultdict(Decimal)
    total = Decimal(0)
    months = set()
    for h in holdings:
        for p in h.periods:
            key = p["distribution"].period.period_start.strftime("%Y-%m")
            by_period[key] += p["amount"]
            total += p["amount"]
            months.add(key)
    perf = costs.holding_performance(holdings) if performances is None else performances
    realised = costs.portfolio_yield(perf)
    cost_basis = costs.total_cost_basis(perf)
    shown = realised is not None and realised.status == "ok"
    return {"total": total, "chart": sorted(by_period.items()), "periods": len(months),
            "cost_basis": cost_basis, "invested": cost_basis.get(costs.INCOME_CURRENCY, Decimal(0)),
            "realised": realised, "performances": perf,
            "realised_yield_pct": realised.period_pct if shown else None,
            "annualised_yield_pct": realised.annualised_pct if shown else None,
            "yield_months": realised.months if realised is not None else 0,
            "yield_status": realised.status if realised is not None else "no_income"}


def offering_history(offering: Offering) -> list[Distribution]:
    """The device's monthly revenue and distribution history, shown before anyone buys."""
    return list(Distribution.objects.filter(offering=offering).select_related("period")
                .order_by("-period__period_start", "-pk")[:24])


# --------------------------------------------------------------------------- writes


def _wallet_of(user, address: str):

    wallet = investor_wallet(user=user, address=address)
    if wallet is None:
        raise Http404("No such wallet.")
    return wallet


def _withdrawable(offering: Offering, wallet: str) -> int:
    return int(gateway.call("SecurityToken", offering.token_address, "withdrawableIncomeOf", wallet))


def _claimable(*, actor, offering: Offering, wallet: str) -> int:
    """Income the holder may claim now. A frozen wallet or an investor who is not eligible
    (KYC expired, suspended) keeps the income on chain until eligible again."""

    if gateway.call("SecurityToken", offering.token_address, "isFrozen", wallet):
        raise ApplicationError("wallet_frozen", gettext(
            "This wallet is frozen by a compliance officer; its income stays "
                               "yours on chain and can be claimed once it is unfrozen."), status=409)
    if not investor_is_eligible(user=actor):
        raise ApplicationError("not_eligible", gettext(
            "Your KYC approval is not active; your income stays yours on chain "
                               "and can be claimed once it is."), status=409)
    amount = _withdrawable(offering, wallet)
    if amount <= 0:
        raise ApplicationError("nothing_to_claim", gettext("There is no income to claim for this holding yet."),
            status=409)
    return amount


@transaction.atomic
def income_claim(*, actor, offering: Offering, wallet: str) -> IncomeClaim:
    """Claim a custodial wallet's income: the platform's agent calls claimIncomeFor, which pays
    only the holder's own wallet."""
    w = _wallet_of(actor, wallet)
    if w.kind != "custodial":
        raise ApplicationError("self_custody_wallet", gettext(
            "Claim from a self-custody wallet with your browser wallet."),
                               status=409)
    amount = _claimable(actor=actor, offering=offering, wallet=w.address)
    n = IncomeClaim.objects.filter(offering=offering, wallet__iexact=w.address).count()
    row = outbox_enqueue(actor=actor, idempotency_key=f"income:claim:{offering.pk}:{norm(w.address)}:{n}",
                         kind="tokens.income_claim", contract_name="SecurityToken", function="claimIncomeFor",
                         args=[w.address], to_address=offering.token_address, sender="agent",
                         reason=f"claim income for {w.address}")
    claim = IncomeClaim.objects.create(investor=actor, offering=offering, kind=IncomeClaim.Kind.CLAIM,
                                       wallet=gateway.to_checksum(w.address), amount_base_units=str(amount),
                                       chain_tx=row)
    audit(actor=actor, action="tokens.income_claim", obj=claim, after={"wallet": claim.wallet, "amount": amount})
    return claim


@transaction.atomic
def income_claim_batch(*, actor, offering: Offering) -> list[IncomeClaim]:
    """Platform use: claim for every custodial wallet with income, 100 wallets a transaction."""
    if not user_has_role(actor, Role.PLATFORM_ADMIN):
        raise ApplicationError("forbidden", gettext("Only a platform admin runs batch claims."), status=403)

    custodial = {norm(w.address): w for w in Wallet.objects.filter(kind="custodial").select_related("profile__user")}
    # Frozen wallets and investors who are not eligible keep their income on chain, as they
    # would if they asked themselves (income._claimable).
    due = [gateway.to_checksum(w) for w in balances_at(offering) if w in custodial
           and investor_is_eligible(user=custodial[w].profile.user)
           and not gateway.call("SecurityToken", offering.token_address, "isFrozen", w)
           and _withdrawable(offering, w) > 0]
    if not due:
        raise ApplicationError("nothing_to_claim", gettext("No custodial wallet has income to claim."), status=409)
    n = IncomeClaim.objects.filter(offering=offering, kind=IncomeClaim.Kind.BATCH_CLAIM).count()
    claims = []
    for i in range(0, len(due), BATCH_SIZE):
        chunk = due[i:i + BATCH_SIZE]
        row = outbox_enqueue(actor=actor, idempotency_key=f"income:batch:{offering.pk}:{n}:{i}",
                             kind="tokens.income_claim", contract_name="SecurityToken",
                             function="claimIncomeForBatch", args=[chunk], to_address=offering.token_address,
                             sender="agent", reason=f"batch claim for {len(chunk)} custodial wallets")
        claims.append(IncomeClaim.objects.create(offering=offering, kind=IncomeClaim.Kind.BATCH_CLAIM,
                                                 wallet=f"{len(chunk)} wallets", chain_tx=row))
    audit(actor=actor, action="tokens.income_claim_batch", obj=offering, after={"wallets": len(due)})
    return claims


def income_claim_prepare(*, actor, offering: Offering, wallet: str) -> dict:
    """The transaction a self-custody holder signs in the browser (EIP-1193 eth_sendTransaction)."""
    w = _wallet_of(actor, wallet)
    if w.kind != "self_custody":
        raise ApplicationError("custodial_wallet", gettext("The platform claims for custodial wallets."), status=409)
    amount = _claimable(actor=actor, offering=offering, wallet=w.address)
    tx = gateway.encode_call("SecurityToken", offering.token_address, "claimIncome")
    return {"from": gateway.to_checksum(w.address), "to": tx["to"], "data": tx["data"],
            "chainId": hex(settings.CHAIN_ID), "withdrawable_base_units": amount}


@transaction.atomic
def income_claim_track(*, actor, offering: Offering, wallet: str, tx_hash: str) -> IncomeClaim:
    """Follow a claim the holder sent from their browser wallet (idempotent on the hash)."""
    w = _wallet_of(actor, wallet)
    tx_hash, existing = tracked_tx(IncomeClaim, tx_hash=tx_hash, owner_field="investor", actor=actor)
    if existing is not None:
        return existing
    claim = IncomeClaim.objects.create(investor=actor, offering=offering, kind=IncomeClaim.Kind.CLAIM,
                                       wallet=gateway.to_checksum(w.address), self_custody=True, tx_hash=tx_hash)
    audit(actor=actor, action="tokens.income_claim_track", obj=claim, after={"tx_hash": tx_hash})
    return claim_refresh(claim=claim)


def claim_refresh(*, claim: IncomeClaim) -> IncomeClaim:
    """A browser-sent claim: read its receipt (pending until mined). The amount comes from the
    IncomeClaimed event for this holder, never from the page."""
    if claim.status != IncomeClaim.Status.PENDING or not claim.self_custody:
        return claim
    try:
        receipt = gateway.receipt_status(claim.tx_hash)
    except gateway.ChainUnavailable:
        return claim
    if receipt is None:
        return claim
    event = next((lg for lg in receipt["logs"] if lg.get("event") == "IncomeClaimed"
                  and norm(lg["args"]["holder"]) == norm(claim.wallet)
                  and norm(lg["address"]) == norm(claim.offering.token_address)), None)
    ok = receipt["status"] == 1 and event is not None and norm(receipt["from"]) == norm(claim.wallet)
    IncomeClaim.objects.filter(pk=claim.pk, status=IncomeClaim.Status.PENDING).update(
        status=IncomeClaim.Status.CONFIRMED if ok else IncomeClaim.Status.FAILED,
        block_number=receipt["blockNumber"], amount_base_units=str(int(event["args"]["amount"])) if ok else "",
        error="" if ok else "The transaction did not claim this holding's income.")
    claim.refresh_from_db()
    if ok:

        index_address(claim.offering.token_address)
    return claim


@transaction.atomic
def income_withdraw(*, actor, to_wallet: str, amount: Decimal | None = None) -> IncomeClaim:
    """Move claimed stablecoin from the investor's custodial wallet to one of their linked,
    self-custody wallets. The custodial key signs an EIP-2612 permit here; the agent sends the
    permit and the transfer (in that order, through the outbox) and pays the gas."""

    # An investor on hold (sanctions hit, revoked or suspended approval) moves nothing out of
    # the platform's custody: the money stays theirs, in the custodial wallet, until eligible.
    if not investor_is_eligible(user=actor):
        raise ApplicationError("not_eligible", gettext(
            "Your KYC approval is not active; what your custodial wallet holds stays yours and can be "
            "withdrawn once it is."), status=409)
    dest = _wallet_of(actor, to_wallet)
    if dest.kind != "self_custody":
        raise ApplicationError("not_self_custody", gettext("Withdraw to one of your linked self-custody wallets."),
                               details={"to_wallet": [gettext("Choose a linked self-custody wallet.")]})
    source = custodial_wallet(user=actor)
    if source is None:
        raise ApplicationError("no_custodial_wallet", gettext("You have no custodial wallet."), status=409)
    # One withdrawal at a time per custodial wallet: a double click must not sign two permits.

    Wallet.objects.select_for_update().filter(pk=source.pk).first()
    if IncomeClaim.objects.filter(kind=IncomeClaim.Kind.WITHDRAW, wallet__iexact=source.address,
                                  status=IncomeClaim.Status.PENDING).exists():
        raise ApplicationError("withdrawal_pending", gettext(
            "A withdrawal from your custodial wallet is still being confirmed; wait for it to finish."), status=409)

    stablecoin = stablecoin_address()
    balance = int(gateway.call("MockStablecoin", stablecoin, "balanceOf", source.address))
    # People type currency units (USD); the chain moves base units of the stablecoin's decimals.
    decimals = int(gateway.call("MockStablecoin", stablecoin, "decimals"))
    held = f"{unit_price_text(from_token_units(balance, decimals))} USD"
    try:
        amount = balance if amount is None else to_token_units(Decimal(amount), decimals)
    except (ValueError, ArithmeticError):
        raise ApplicationError("invalid_amount", gettext("Enter at most %(decimals)s decimal places.") % {
            "decimals": decimals}, details={"amount": [gettext("Enter at most %(decimals)s decimal places.") % {
                "decimals": decimals}]}) from None
    if amount <= 0 or amount > balance:
        raise ApplicationError("invalid_amount", gettext("Your custodial wallet holds %(balance)s.") % {
            "balance": held}, details={"amount": [gettext("At most %(balance)s.") % {"balance": held}]})
    agent = gateway.address_of("agent")
    deadline = int(time.time()) + 3600
    sig = gateway.sign_permit(private_key=decrypt_str(source.encrypted_private_key), token=stablecoin,
                              owner=source.address, spender=agent, value=amount, deadline=deadline)
    key = f"income:withdraw:{norm(source.address)}:{sig['nonce']}"
    permit = outbox_enqueue(actor=actor, idempotency_key=f"{key}:permit", kind="tokens.income_permit",
                            contract_name="MockStablecoin", function="permit",
                            args=[source.address, agent, amount, deadline, sig["v"], sig["r"], sig["s"]],
                            to_address=stablecoin, sender="agent", reason="withdrawal permit")
    move = outbox_enqueue(actor=actor, idempotency_key=f"{key}:transfer", kind="tokens.income_withdraw",
                          contract_name="MockStablecoin", function="transferFrom",
                          args=[source.address, dest.address, amount], to_address=stablecoin, sender="agent",
                          after=permit, reason=f"withdraw {amount} to {dest.address}")
    claim = IncomeClaim.objects.create(investor=actor, kind=IncomeClaim.Kind.WITHDRAW,
                                       wallet=gateway.to_checksum(source.address),
                                       to_wallet=gateway.to_checksum(dest.address), amount_base_units=str(amount),
                                       chain_tx=move)
    audit(actor=actor, action="tokens.income_withdraw", obj=claim,
          after={"from": claim.wallet, "to": claim.to_wallet, "amount": amount})
    return claim


def on_claim_final(row) -> None:
    """chain hook for claim and withdrawal rows."""
    ok = row.status == row.Status.CONFIRMED
    amount = None
    if ok and row.kind == "tokens.income_claim":
        amount = sum(int(lg["args"]["amount"]) for lg in (row.receipt or {}).get("logs", [])
                     if lg.get("event") == "IncomeClaimed")
    for claim in IncomeClaim.objects.select_for_update().filter(chain_tx=row, status=IncomeClaim.Status.PENDING):
        claim.status = IncomeClaim.Status.CONFIRMED if ok else IncomeClaim.Status.FAILED
        claim.tx_hash, claim.block_number = row.tx_hash or claim.tx_hash or "", row.block_number
        if amount is not None:
            claim.amount_base_units = str(amount)
        claim.error = "" if ok else (row.error or "failed")
        claim.save()
    if ok and row.kind == "tokens.income_claim":

        index_address(row.to_address)


def withdrawn_total(*, user) -> int:
    return sum(int(a or 0) for a in IncomeClaim.objects.filter(
        investor=user, kind=IncomeClaim.Kind.WITHDRAW, status=IncomeClaim.Status.CONFIRMED)
        .values_list("amount_base_units", flat=True))


def claim_get_for_user(*, user, claim_id) -> IncomeClaim:
    claim = IncomeClaim.objects.select_related("offering").filter(pk=claim_id).first()
    if claim is None or not (claim.investor_id == user.pk or user_has_role(user, Role.PLATFORM_ADMIN)):
        raise Http404("No such claim.")
    return claim

"""Investors' income: what each holding earned per distribution (read from the chain and
its indexed events), claims (custodial: the platform claims for the holder; batch for many
custodial wallets in one transaction; self-custody: the holder's browser wallet signs and
the page follows the transaction), and withdrawal of claimed stablecoin from the custodial
wallet to a linked self-custody wallet (EIP-2612 permit signed with the custodial key; the
platform's agent sends and pays the gas, so custodial wallets never need ETH)."""

from __future__ import annotations

import bisect
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext

from chain import gateway
from chain.models import ChainEvent
from chain.services import outbox_enqueue
from core.errors import ApplicationError
from core.money import from_token_units
from core.permissions import Role, user_has_role
from core.services import audit
from tokens.models import Distribution, DistributionStatus, IncomeClaim, Offering, OfferingStatus
from tokens.selectors import tracked_tx

ZERO = "0x" + "0" * 40
BATCH_SIZE = 100  # wallets per batch-claim transaction (gas stays far below a block)


def _norm(address: str) -> str:
    return address.lower()


def _investor_wallets(user) -> list:
    from compliance.selectors import investor_wallets

    return list(investor_wallets(user=user))


# --------------------------------------------------------------------------- reads


def balances_at(offering: Offering, *, block: int | None = None, wallets: set[str] | None = None,
                touched: set[str] | None = None) -> dict[str, int]:
    """Units per wallet (lower-case) from indexed, confirmed Transfer events up to `block`.
    `touched`, when given, collects every wallet any of those transfers named (lower-case)."""
    qs = ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID,
                                   contract__address__iexact=offering.token_address, event="Transfer")
    if block is not None:
        qs = qs.filter(block_number__lte=block)
    if wallets is not None:  # only these wallets' transfers (events store checksummed addresses)
        qs = qs.filter(_to_or_from([gateway.to_checksum(w) for w in wallets]))
    out: dict[str, int] = defaultdict(int)
    for args in qs.order_by("block_number", "log_index").values_list("args", flat=True).iterator(chunk_size=5000):
        value = int(args["value"])
        if touched is not None:
            touched.update({_norm(str(args.get("from", ""))), _norm(str(args.get("to", "")))})
        if args["from"] != ZERO:
            out[_norm(args["from"])] -= value
        if args["to"] != ZERO:
            out[_norm(args["to"])] += value
    return {w: v for w, v in out.items() if v > 0 and (wallets is None or w in wallets)}


def _deltas(offering: Offering) -> dict[int, int]:
    """Accumulator increase of each distributed deposit (pointsPerShare after minus the one
    before; every deposit on a token is ours, in block order)."""
    prev, out = 0, {}
    for pk, after in (Distribution.objects.filter(offering=offering, status=DistributionStatus.DISTRIBUTED)
                      .order_by("deposit_block", "pk").values_list("pk", "points_per_share_after")):
        out[pk] = int(after) - prev
        prev = int(after)
    return out


def magnitude(d: Distribution) -> int:
    return int(json.loads(d.report)["accumulator"]["magnitude"])


def distribution_entitlements(d: Distribution) -> dict:
    """Each holder's share of a distributed deposit: units at the deposit block × accumulator
    increase ÷ MAGNITUDE, floored to the base unit (fractions stay in the holder's on-chain
    correction and are paid with later claims). Σ magnified shares + dust = deposit exactly."""
    if d.status != DistributionStatus.DISTRIBUTED:
        return {"holders": {}, "supply": 0, "delta": 0, "magnitude": 0}
    delta = _deltas(d.offering)[d.pk]
    mag = magnitude(d)
    balances = balances_at(d.offering, block=d.deposit_block)
    supply = sum(balances.values())
    holders = {w: {"units": u, "base_units": u * delta // mag, "magnified": u * delta}
               for w, u in balances.items()}
    return {"holders": holders, "supply": supply, "delta": delta, "magnitude": mag}


@dataclass
class Holding:
    offering: Offering
    wallet: str
    wallet_kind: str
    self_custody: bool
    units: int
    accrued: int = 0  # claimable now, base units (live read)
    claimed: int = 0
    periods: list = field(default_factory=list)

    @property
    def decimals(self) -> int:
        return next((p["decimals"] for p in self.periods), 6)


def investor_holdings(*, user, live: bool = True, periods: bool = True) -> list[Holding]:
    """Every unit the investor holds in any of their wallets (custodial and self-custody),
    from the indexed Transfer events of every live token — so units received by forced
    transfer or recovery show too, not only purchases. With `live`, the claimable income is
    read from the chain; with `periods`, each holding's per-period income rows are built (two
    queries per holding: pages that show units only leave them out)."""
    wallets = {_norm(w.address): w for w in _investor_wallets(user)}
    if not wallets:
        return []
    keys = list(wallets)
    checks = [gateway.to_checksum(w) for w in keys]
    touched = (ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID, event="Transfer")
               .filter(_to_or_from(checks)).values_list("contract__address", flat=True).distinct())
    offerings = {o.token_address.lower(): o for o in Offering.objects.filter(
        status__in=[OfferingStatus.ANCHORING, OfferingStatus.LIVE]).exclude(token_address="").select_related("device")}
    claimed = _claimed_by_wallet(checks)
    out: list[Holding] = []
    for address in sorted({a.lower() for a in touched}):
        offering = offerings.get(address)
        if offering is None:
            continue
        balances = balances_at(offering, wallets=set(keys))
        for w, units in sorted(balances.items()):
            wallet = wallets[w]
            h = Holding(offering=offering, wallet=gateway.to_checksum(w), wallet_kind=wallet.get_kind_display(),
                        self_custody=wallet.kind == "self_custody", units=units,
                        claimed=claimed.get((address, w), 0))
            out.append(h)
        for w in set(keys) - set(balances):  # sold or moved out, income may still be claimable
            if claimed.get((address, w)) is not None or _had_units(offering, w):
                wallet = wallets[w]
                out.append(Holding(offering=offering, wallet=gateway.to_checksum(w),
                                   wallet_kind=wallet.get_kind_display(), self_custody=wallet.kind == "self_custody",
                                   units=0, claimed=claimed.get((address, w), 0)))
    for h in out:
        if periods:
            h.periods = holding_periods(h.offering, h.wallet)
        if live:
            try:
                h.accrued = int(gateway.call("SecurityToken", h.offering.token_address, "withdrawableIncomeOf",
                                             h.wallet))
            except gateway.ChainUnavailable:
                h.accrued = -1  # shown as "chain unreachable", never as zero
    return out


def _had_units(offering: Offering, wallet: str) -> bool:
    return ChainEvent.objects.filter(contract__address__iexact=offering.token_address, event="Transfer",
                                     args__to=gateway.to_checksum(wallet)).exists()


def _to_or_from(checks: list[str]):
    from django.db.models import Q

    return Q(args__to__in=checks) | Q(args__from__in=checks)


def _claimed_by_wallet(checks: list[str]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = defaultdict(int)
    for address, args in (ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID, event="IncomeClaimed",
                                                    args__holder__in=checks)
                          .values_list("contract__address", "args")):
        out[(address.lower(), _norm(args["holder"]))] += int(args["amount"])
    return out


def holding_periods(offering: Offering, wallet: str) -> list[dict]:
    """Per distributed period (newest first): the wallet's units at the deposit block and its
    entitlement. Two queries whatever the number of periods: the wallet's transfers and the
    token's distributions (the accumulator increase of each is the difference to the one before)."""
    w = _norm(wallet)
    blocks, balances, units = [], [], 0
    for block, args in (ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID,
                                                  contract__address__iexact=offering.token_address, event="Transfer")
                        .filter(_to_or_from([gateway.to_checksum(w)])).order_by("block_number", "log_index")
                        .values_list("block_number", "args")):
        value = int(args["value"])
        units += (value if _norm(args["to"]) == w else 0) - (value if _norm(args["from"]) == w else 0)
        blocks.append(block)
        balances.append(units)
    rows, before = [], 0
    for d in (Distribution.objects.filter(offering=offering, status=DistributionStatus.DISTRIBUTED)
              .select_related("period", "deposit_tx").order_by("deposit_block", "pk")):
        after = int(d.points_per_share_after)
        delta, before = after - before, after
        i = bisect.bisect_right(blocks, d.deposit_block)
        held = balances[i - 1] if i else 0
        if held <= 0:
            continue
        base = held * delta // magnitude(d)
        rows.append({"distribution": d, "units": held, "base_units": base, "decimals": d.stablecoin_decimals,
                     "amount": from_token_units(base, d.stablecoin_decimals)})
    return rows[::-1]


def income_summary(holdings: list[Holding]) -> dict:
    """Totals and an annualised yield on the offering price, with the period count it rests on."""
    by_period: dict[str, Decimal] = defaultdict(Decimal)
    total = Decimal(0)
    invested = Decimal(0)
    months = set()
    for h in holdings:
        invested += h.units * h.offering.price_per_unit
        for p in h.periods:
            key = p["distribution"].period.period_start.strftime("%Y-%m")
            by_period[key] += p["amount"]
            total += p["amount"]
            months.add(key)
    n = len(months)
    yield_pct = (total / invested * 12 / n * 100).quantize(Decimal("0.01")) if n and invested else None
    return {"total": total, "chart": sorted(by_period.items()), "periods": n, "invested": invested,
            "annualised_yield_pct": yield_pct}


def offering_history(offering: Offering) -> list[Distribution]:
    """The device's monthly revenue and distribution history, shown before anyone buys."""
    return list(Distribution.objects.filter(offering=offering).select_related("period")
                .order_by("-period__period_start", "-pk")[:24])


# --------------------------------------------------------------------------- writes


def _wallet_of(user, address: str):
    from compliance.selectors import investor_wallet

    wallet = investor_wallet(user=user, address=address)
    if wallet is None:
        raise Http404("No such wallet.")
    return wallet


def _withdrawable(offering: Offering, wallet: str) -> int:
    return int(gateway.call("SecurityToken", offering.token_address, "withdrawableIncomeOf", wallet))


def _claimable(*, actor, offering: Offering, wallet: str) -> int:
    """Income the holder may claim now. A frozen wallet or an investor who is not eligible
    (KYC expired, suspended) keeps the income on chain until eligible again."""
    from compliance.selectors import investor_is_eligible

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
    row = outbox_enqueue(actor=actor, idempotency_key=f"income:claim:{offering.pk}:{_norm(w.address)}:{n}",
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
    from compliance.models import Wallet
    from compliance.selectors import investor_is_eligible

    custodial = {_norm(w.address): w for w in Wallet.objects.filter(kind="custodial").select_related("profile__user")}
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
                  and _norm(lg["args"]["holder"]) == _norm(claim.wallet)
                  and _norm(lg["address"]) == _norm(claim.offering.token_address)), None)
    ok = receipt["status"] == 1 and event is not None and _norm(receipt["from"]) == _norm(claim.wallet)
    IncomeClaim.objects.filter(pk=claim.pk, status=IncomeClaim.Status.PENDING).update(
        status=IncomeClaim.Status.CONFIRMED if ok else IncomeClaim.Status.FAILED,
        block_number=receipt["blockNumber"], amount_base_units=str(int(event["args"]["amount"])) if ok else "",
        error="" if ok else "The transaction did not claim this holding's income.")
    claim.refresh_from_db()
    if ok:
        from chain.services import index_address

        index_address(claim.offering.token_address)
    return claim


@transaction.atomic
def income_withdraw(*, actor, to_wallet: str, amount: int | None = None) -> IncomeClaim:
    """Move claimed stablecoin from the investor's custodial wallet to one of their linked,
    self-custody wallets. The custodial key signs an EIP-2612 permit here; the agent sends the
    permit and the transfer (in that order, through the outbox) and pays the gas."""
    from compliance.selectors import custodial_wallet, investor_is_eligible
    from core.crypto import decrypt_str

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
    from compliance.models import Wallet

    Wallet.objects.select_for_update().filter(pk=source.pk).first()
    if IncomeClaim.objects.filter(kind=IncomeClaim.Kind.WITHDRAW, wallet__iexact=source.address,
                                  status=IncomeClaim.Status.PENDING).exists():
        raise ApplicationError("withdrawal_pending", gettext(
            "A withdrawal from your custodial wallet is still being confirmed; wait for it to finish."), status=409)
    from tokens.services import stablecoin_address

    stablecoin = stablecoin_address()
    balance = int(gateway.call("MockStablecoin", stablecoin, "balanceOf", source.address))
    amount = balance if amount is None else int(amount)
    if amount <= 0 or amount > balance:
        raise ApplicationError("invalid_amount", gettext('Your custodial wallet holds %(balance)s base units.') %
            {"balance": balance},
                               details={"amount": [gettext('Between 1 and %(balance)s.') % {"balance": balance}]})
    agent = gateway.address_of("agent")
    deadline = int(time.time()) + 3600
    sig = gateway.sign_permit(private_key=decrypt_str(source.encrypted_private_key), token=stablecoin,
                              owner=source.address, spender=agent, value=amount, deadline=deadline)
    key = f"income:withdraw:{_norm(source.address)}:{sig['nonce']}"
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
        from chain.services import index_address

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

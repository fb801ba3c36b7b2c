"""Revenue distributions: a closed revenue period of a tokenized device → waterfall →
clinic confirms or disputes → clinic pays (payments port, or a recorded bank transfer) →
report frozen and hashed → stablecoin deposited on chain with the hash, once → holders
claim (tokens.distributions.income).

Exactly once: one Distribution per RevenuePeriod (unique), one deposit per distribution
and attempt (outbox idempotency keys). The outbox signs once and re-broadcasts the same
bytes after a crash, so a worker killed between approval and deposit leaves one deposit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from chain import gateway
from chain.services import index_address, outbox_enqueue
from compliance.models import Wallet
from core.errors import ApplicationError, check_transition
from core.money import format_money, from_token_units
from core.permissions import Role, user_clinic_ids, user_has_role
from core.services import audit, snapshot
from core.tasks import enqueue_on_commit
from notifications.models import Category as NoticeCategory
from notifications.services import notify, notify_organization
from payments.models import Payment
from payments.selectors import payment_for_session
from payments.services import checkout_create, refund_create
from telemetry.models import RevenuePeriodStatus
from telemetry.selectors import daily_usage
from telemetry.services import revenue_period_settle
from tokens import waterfall
from tokens.ledger import distribution_entitlements, stablecoin_address, units_outstanding
from tokens.models import (
    DISTRIBUTION_TRANSITIONS,
    Distribution,
    DistributionStatus,
    Offering,
    OfferingStatus,
)

logger = logging.getLogger(__name__)

# /2: the public report holds totals and cells of at least min_cell() procedures, and the
# SHA-256 of the detailed usage (per-day counts, every cell) that holders and the clinic open.
# /3: the pool is for all N units (k/N each) and the terms are pinned on chain by their hash.
REPORT_SCHEMA = "medrwa.distribution-report/3"
DETAIL_SCHEMA = "medrwa.distribution-detail/1"
# Statements whose reserve counts towards the target: paid ones and those still to be paid
# (so two open statements cannot both fill the reserve up to its target).
RESERVE_HELD = (DistributionStatus.AWAITING_CLINIC, DistributionStatus.DISPUTED, DistributionStatus.AWAITING_PAYMENT,
                DistributionStatus.WAITING_FUNDS, DistributionStatus.DEPOSITING, DistributionStatus.DISTRIBUTED,
                DistributionStatus.FAILED, DistributionStatus.NOTHING_DUE)
PAYABLE = (DistributionStatus.AWAITING_PAYMENT,)
S = DistributionStatus


def confirm_window() -> dt.timedelta:
    return dt.timedelta(days=int(getattr(settings, "DISTRIBUTION_CONFIRM_DAYS", 7)))


def _move(*, actor, d: Distribution, target: str, action: str, reason: str = "", **changes) -> Distribution:
    check_transition(entity="distribution", table=DISTRIBUTION_TRANSITIONS, current=d.status, target=target)
    before = snapshot(d, ["status", *changes.keys()])
    d.status = target
    for k, v in changes.items():
        setattr(d, k, v)
    d.full_clean()
    d.save()
    audit(actor=actor, action=action, obj=d, before=before, after=snapshot(d, ["status", *changes.keys()]),
          reason=reason)
    return d


def _lock(d: Distribution) -> Distribution:
    return Distribution.objects.select_for_update().select_related(
        "offering", "offering__device", "period").get(pk=d.pk)


def _require_clinic_admin(actor, d: Distribution, what: str) -> None:
    if d.offering.device.organization_id not in user_clinic_ids(actor, roles={Role.CLINIC_ADMIN}):
        raise ApplicationError("forbidden", gettext("Only an administrator of the device's clinic can %(what)s.") %
            {"what": what}, status=403)


def _require_platform_admin(actor, what: str) -> None:
    if not user_has_role(actor, Role.PLATFORM_ADMIN):
        raise ApplicationError("forbidden", gettext('Only a platform admin can %(what)s.') % {"what": what}, status=403)


# --------------------------------------------------------------------------- opening


def reserve_balance(offering: Offering) -> Decimal:
    return (Distribution.objects.filter(offering=offering, status__in=RESERVE_HELD)
            .aggregate(s=Sum("reserve"))["s"] or Decimal(0))


def period_gross(period, terms: waterfall.Terms) -> tuple[Decimal, list[dict]]:
    """Gross for the waterfall: procedure revenue, plus compute revenue when the terms include it."""
    procedure, compute = Decimal(period.procedure_amount), Decimal(period.compute_amount)
    included = procedure + (compute if terms.includes_compute_revenue else Decimal(0))
    notes = []
    if compute and not terms.includes_compute_revenue:
        notes.append(waterfall.explained({"line": "compute_excluded", "amount": str(compute)}, {}, period.currency))
    return included, notes


def _gross_to_bill(period, terms: waterfall.Terms) -> tuple[Decimal, list[dict]]:
    """What this statement bills: the month as corrected so far (the original period and its
    adjustments) minus what earlier statements of the month already billed. A withdrawn
    statement (dispute upheld) billed nothing, so the corrected month is billed whole; a
    downward correction nets against what was billed."""
    original = period.adjusts if period.adjusts_id else period
    periods = [original, *original.adjustments.all()]
    total, notes = Decimal(0), []
    for p in periods:
        g, n = period_gross(p, terms)
        total += g
        if p.pk == period.pk:
            notes = n
    if Distribution.objects.filter(period__in=periods, status=S.DISPUTED).exists():
        # The hook raising rolls the adjustment back: decide the dispute first, then correct.
        raise ApplicationError("statement_disputed", gettext(
            "A statement of this month is disputed; resolve the dispute before correcting the month."), status=409)
    # A downward correction (nothing due) counts as billed too: its difference is settled with
    # the clinic by an admin when it is closed, so later corrections must not net it again.
    billed = (Distribution.objects.filter(period__in=periods).exclude(status=S.WITHDRAWN)
              .aggregate(s=Sum("gross"))["s"] or Decimal(0))
    if billed or len(periods) > 1:
        notes.append(waterfall.explained({"line": "correction", "amount": str(total - billed),
                                          "corrected_total": str(total), "billed": str(billed)}, {}, period.currency))
    return total - billed, notes


def on_period_closed(period) -> Distribution | None:
    """telemetry hook: a month (or an adjustment) of a tokenized device was closed."""
    offering = (Offering.objects.select_for_update().filter(device_id=period.device_id, status=OfferingStatus.LIVE)
                .exclude(token_address="").first())
    if offering is None or period.currency != offering.currency:
        if offering is not None:
            logger.warning("Period %s is in %s, offering %s in %s: not distributed", period.pk, period.currency,
                           offering.pk, offering.currency)
        return None
    existing = Distribution.objects.filter(period=period).first()
    if existing is not None:
        return existing
    terms = waterfall.Terms.of(offering)
    gross, notes = _gross_to_bill(period, terms)
    held = reserve_balance(offering)
    # The clinic is billed for the units investors hold now; units sold or burned before the
    # deposit move what the token pulls (recorded at the deposit), never what a unit earns.
    outstanding = min(units_outstanding(offering), offering.units)
    w = waterfall.compute(gross=gross, terms=terms, reserve_balance=held, units_total=offering.units,
                          units_outstanding=outstanding)
    lines = w.lines(terms, offering.currency, held) + notes
    status = S.AWAITING_CLINIC if w.amount_due > 0 and w.holders_amount > 0 else S.NOTHING_DUE
    d = Distribution(
        offering=offering, period=period, status=status, currency=offering.currency, gross=w.gross,
        platform_fee=w.platform_fee, reserve=w.reserve, clinic_share=w.clinic_share,
        holders_amount=w.holders_amount, amount_due=w.amount_due, units_total=w.units_total,
        units_outstanding=w.units_outstanding, investors_amount=w.investors_amount,
        retained_amount=w.retained_amount,
        waterfall={**w.frozen(terms, held), "lines": lines},
        confirm_deadline=timezone.now() + confirm_window(),
        # Stored in English (several people read it, in their own languages); the pages translate
        # it when shown, so the fixed notes are marked for the catalogue here (gettext_noop).
        error="" if status == S.AWAITING_CLINIC else (
            gettext_noop("A downward correction: nothing is collected or deposited; the difference is settled "
                         "with the clinic by a platform admin.") if w.gross < 0
            else gettext_noop("No revenue to distribute for this period.")),
    )
    d.full_clean()
    d.save()
    audit(actor=None, action="tokens.distribution_open", obj=d,
          after=snapshot(d, ["status", "gross", "platform_fee", "reserve", "clinic_share", "holders_amount",
                             "units_total", "units_outstanding", "investors_amount", "retained_amount",
                             "amount_due", "currency"]))
    if status == S.AWAITING_CLINIC:
        notify_organization(
            organization_id=offering.device.organization_id, category=NoticeCategory.CLINIC_STATEMENTS,
            event_key=f"distribution:{d.public_id}:awaiting_clinic",
            title=format_lazy(gettext_lazy("Month closed for {device}: confirm the statement"),
                              device=str(offering.device)),
            body=format_lazy(gettext_lazy("{amount} is due. Confirm or dispute the statement by {date}; "
                                          "then pay it."), amount=format_money(d.amount_due, d.currency),
                             date=f"{d.confirm_deadline:%Y-%m-%d}"), url=f"/distributions/{d.public_id}/")
    return d


# --------------------------------------------------------------------------- clinic


@transaction.atomic
def distribution_confirm(*, actor, distribution: Distribution) -> Distribution:
    d = _lock(distribution)
    _require_clinic_admin(actor, d, "confirm its statement")
    return _move(actor=actor, d=d, target=S.AWAITING_PAYMENT, action="tokens.distribution_confirm",
                 confirmed_by=actor, confirmed_at=timezone.now())


@transaction.atomic
def distribution_dispute(*, actor, distribution: Distribution, reason: str) -> Distribution:
    d = _lock(distribution)
    _require_clinic_admin(actor, d, "dispute its statement")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", gettext("Say what is wrong with the statement."),
                               details={"reason": [gettext("This field is required.")]})
    if d.status == S.AWAITING_CLINIC and timezone.now() > d.confirm_deadline:
        raise ApplicationError("dispute_window_closed", gettext("The window to dispute this statement has closed."),
                               status=409)
    return _move(actor=actor, d=d, target=S.DISPUTED, action="tokens.distribution_dispute", reason=reason,
                 dispute_reason=reason, disputed_by=actor, disputed_at=timezone.now())


@transaction.atomic
def distribution_resolve(*, actor, distribution: Distribution, uphold: bool, resolution: str) -> Distribution:
    """A platform admin decides a dispute. Upheld: this statement is withdrawn (the corrected
    figures come as an adjusting period); rejected: the statement stands and is payable."""
    _require_platform_admin(actor, "resolve disputes")
    d = _lock(distribution)
    resolution = (resolution or "").strip()
    if not resolution:
        raise ApplicationError("reason_required", gettext("Explain the decision to the clinic."),
                               details={"resolution": [gettext("This field is required.")]})
    target = S.WITHDRAWN if uphold else S.AWAITING_PAYMENT
    d = _move(actor=actor, d=d, target=target, action="tokens.distribution_resolve", reason=resolution,
              resolution=resolution, resolved_by=actor, resolved_at=timezone.now())
    notify_organization(organization_id=d.offering.device.organization_id, category=NoticeCategory.CLINIC_STATEMENTS,
                        event_key=f"distribution:{d.public_id}:resolved", url=f"/distributions/{d.public_id}/",
                        title=gettext_lazy("Your dispute was upheld: the statement is withdrawn") if uphold
                        else gettext_lazy("Your dispute was rejected: the statement is payable"), body=resolution)
    return d


def distributions_confirm_overdue(*, now=None) -> int:
    """Periodic: a statement not disputed within the window is deemed confirmed."""
    now = now or timezone.now()
    n = 0
    for pk in Distribution.objects.filter(status=S.AWAITING_CLINIC, confirm_deadline__lt=now).values_list(
            "pk", flat=True):
        with transaction.atomic():
            d = Distribution.objects.select_for_update().filter(pk=pk, status=S.AWAITING_CLINIC).first()
            if d is None:
                continue
            _move(actor=None, d=d, target=S.AWAITING_PAYMENT, action="tokens.distribution_deemed_confirmed",
                  reason="not disputed within the confirmation window", confirmed_at=now)
            n += 1
    return n


# --------------------------------------------------------------------------- payment


def distribution_checkout(*, actor, distribution: Distribution, success_url: str, cancel_url: str):
    """The clinic pays the amount due by card (Stripe Checkout; the local simulator in dev)."""

    d = Distribution.objects.select_related("offering", "offering__device", "period").get(pk=distribution.pk)
    _require_clinic_admin(actor, d, "pay its statement")
    if d.status not in PAYABLE:
        raise ApplicationError("not_payable", gettext('This statement is %(get_status_display)s.') %
            {"get_status_display": d.get_status_display().lower()}, status=409)

    with transaction.atomic():
        # A checkout that expired or was abandoned is replaced by a new one (a new key).
        attempt = Payment.objects.filter(client_reference_id=f"distribution:{d.public_id}").exclude(
            status=Payment.Status.OPEN).count()
        payment = checkout_create(
            actor=actor, client_reference_id=f"distribution:{d.public_id}",
            idempotency_key=f"{d.key}:checkout:{attempt}",
            description=f"{d.offering.token_symbol} revenue {d.period.period_start:%Y-%m}: amount due",
            amount=d.amount_due, currency=d.currency, success_url=success_url, cancel_url=cancel_url,
            metadata={"distribution": str(d.public_id)})
        Distribution.objects.filter(pk=d.pk).update(payment_session_id=payment.session_id)
    return payment


def on_checkout_completed(event) -> None:
    """payments hook (inside the webhook's transaction)."""
    ref = event.client_reference_id or ""
    if not ref.startswith("distribution:") or event.payment_status != "paid":
        return
    d = Distribution.objects.filter(public_id=ref.split(":", 1)[1]).first()
    if d is None:
        logger.warning("Checkout %s references unknown distribution %s", event.session_id, ref)
        return
    _payment_received(distribution=d, method="card", amount=event.amount, currency=event.currency,
                      reference=event.session_id, actor=None, session_id=event.session_id)


def on_charge_reversed(event) -> None:
    """payments hook: a refund or a chargeback of the card payment that paid a statement. The
    deposit may already be on chain and cannot be taken back from holders: the statement is
    flagged for a platform admin (audited, visible on the statement), never silently kept. The
    flag is durable (its own fields, not `error`, which waits and failures rewrite), and a
    statement carrying it is never funded afterwards (`_fund` refuses it)."""
    ref = event.client_reference_id or ""
    if not ref.startswith("distribution:"):
        return
    d = Distribution.objects.select_for_update().filter(public_id=ref.split(":", 1)[1]).first()
    if d is None or d.payment_method != "card" or event.session_id != d.payment_session_id:
        return  # e.g. our own refund of a duplicate payment
    what = "chargeback opened" if event.type.startswith("charge.dispute") else "card payment refunded"
    before = snapshot(d, ["payment_reversed_at", "payment_reversal"])
    if d.payment_reversed_at is None:  # the first reversal's note stays; later events are audited
        d.payment_reversed_at = timezone.now()
        d.payment_reversal = f"{what} ({event.type}, {event.event_id})"
        d.save(update_fields=["payment_reversed_at", "payment_reversal", "updated_at"])
    audit(actor=None, action="tokens.distribution_payment_reversed", obj=d, before=before,
          after={"event": event.type, "event_id": event.event_id, "status": d.status,
                 **snapshot(d, ["payment_reversed_at", "payment_reversal"])}, reason=what)
    logger.error("Distribution %s (%s): %s; a platform admin must recover the amount from the clinic",
                 d.public_id, d.status, what)


def _require_not_reversed(d: Distribution) -> None:
    if d.payment_reversed_at is not None:
        raise ApplicationError("payment_reversed", gettext(
            "The clinic's payment for this statement was refunded or charged back: it is not deposited."),
                               status=409)


def bank_transfer_pending(d: Distribution) -> bool:
    """A bank transfer recorded by one platform admin, not yet confirmed by a second one."""
    return d.recorded_at is not None and d.bank_confirmed_at is None


def _check_payable(d: Distribution, *, amount: Decimal, currency: str) -> None:
    """What a payment must meet to be used (the bank path raises; card payments are refunded)."""
    if d.paid_at is not None:
        raise ApplicationError("already_paid", gettext("This period is already paid."), status=409)
    if d.status not in PAYABLE:
        raise ApplicationError("not_payable", gettext('This statement is %(get_status_display)s.') %
            {"get_status_display": d.get_status_display().lower()}, status=409)
    if amount is None or Decimal(amount) != d.amount_due or currency != d.currency:
        raise ApplicationError("amount_mismatch", gettext('The amount due is %(amount_due)s %(currency)s.') %
            {"amount_due": d.amount_due, "currency": d.currency},
                               details={"amount": [gettext('Must be %(amount_due)s.') % {"amount_due": d.amount_due}]})


@transaction.atomic
def distribution_record_bank_transfer(*, actor, distribution: Distribution, reference: str,
                                      amount: Decimal) -> Distribution:
    """First of two platform admins: records the clinic's transfer as read on the bank
    statement. Nothing is paid or deposited yet: a transfer releases treasury stablecoin to the
    holders, so one person alone must not be able to assert it (four-eyes, as KYC approvals
    and agent actions)."""
    _require_platform_admin(actor, "record bank transfers")
    reference = (reference or "").strip()
    if not reference:
        raise ApplicationError("reference_required", gettext("Give the bank transfer's reference."),
                               details={"reference": [gettext("This field is required.")]})
    d = _lock(distribution)
    _check_payable(d, amount=Decimal(amount), currency=d.currency)
    if bank_transfer_pending(d):
        raise ApplicationError("bank_transfer_pending", gettext(
            "A bank transfer is already recorded for this statement and waits for a second platform admin's "
            "confirmation."), status=409)
    before = snapshot(d, ["bank_reference", "bank_amount", "recorded_by", "recorded_at"])
    d.bank_reference, d.bank_amount, d.recorded_by, d.recorded_at = reference, Decimal(amount), actor, timezone.now()
    d.bank_confirmed_by, d.bank_confirmed_at = None, None
    d.full_clean()
    d.save()
    audit(actor=actor, action="tokens.distribution_bank_transfer_recorded", obj=d, before=before,
          after=snapshot(d, ["bank_reference", "bank_amount", "recorded_by", "recorded_at"]))
    return d


@transaction.atomic
def distribution_confirm_bank_transfer(*, actor, distribution: Distribution) -> Distribution:
    """Second platform admin: confirms the recorded transfer; only now is the statement paid
    and its deposit queued."""
    _require_platform_admin(actor, "confirm bank transfers")
    d = _lock(distribution)
    if not bank_transfer_pending(d):
        raise ApplicationError("no_bank_transfer_pending", gettext(
            "No bank transfer waits for a confirmation on this statement."), status=409)
    if d.recorded_by_id == actor.pk:
        raise ApplicationError("four_eyes", gettext(
            "A second, different platform admin must confirm this bank transfer."), status=409)
    _check_payable(d, amount=d.bank_amount, currency=d.currency)
    d.bank_confirmed_by, d.bank_confirmed_at = actor, timezone.now()
    d.save(update_fields=["bank_confirmed_by", "bank_confirmed_at", "updated_at"])
    audit(actor=actor, action="tokens.distribution_bank_transfer_confirmed", obj=d,
          after={"reference": d.bank_reference, "amount": d.bank_amount, "recorded_by": d.recorded_by_id,
                 "confirmed_by": actor.pk})
    return _payment_received(distribution=d, method="bank", amount=d.bank_amount, currency=d.currency,
                             reference=d.bank_reference, actor=actor)


@transaction.atomic
def distribution_reject_bank_transfer(*, actor, distribution: Distribution, reason: str) -> Distribution:
    """A second platform admin (or the recorder, withdrawing it) discards a recorded transfer
    that the bank statement does not bear out; nothing was paid."""
    _require_platform_admin(actor, "reject bank transfers")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", gettext("Give a reason."),
                               details={"reason": [gettext("A reason is required.")]})
    d = _lock(distribution)
    if not bank_transfer_pending(d):
        raise ApplicationError("no_bank_transfer_pending", gettext(
            "No bank transfer waits for a confirmation on this statement."), status=409)
    before = snapshot(d, ["bank_reference", "bank_amount", "recorded_by", "recorded_at"])
    d.bank_reference, d.bank_amount, d.recorded_by, d.recorded_at = "", None, None, None
    d.save(update_fields=["bank_reference", "bank_amount", "recorded_by", "recorded_at", "updated_at"])
    audit(actor=actor, action="tokens.distribution_bank_transfer_rejected", obj=d, before=before,
          after=snapshot(d, ["bank_reference", "bank_amount", "recorded_by", "recorded_at"]), reason=reason)
    return d


def _payment_received(*, distribution, method: str, amount, currency: str, reference: str, actor,
                      session_id: str = "") -> Distribution:
    d = _lock(distribution)
    if d.paid_at is not None and method == "card" and d.payment_method == "card" and session_id == \
            d.payment_session_id:
        return d  # the same checkout's payment, told again (e.g. completed then async succeeded)
    if d.paid_at is not None:
        # A second payment for the same period is never distributed twice.
        audit(actor=actor, action="tokens.distribution_duplicate_payment", obj=d,
              after={"method": method, "reference": reference, "amount": amount, "currency": currency},
              reason="the period is already paid")
        if method == "card":
            _refund_duplicate(d, session_id=session_id, reason="this period was already paid")
            return d
        raise ApplicationError("already_paid", gettext("This period is already paid."), status=409)
    if d.status not in PAYABLE:
        if method == "card":
            _refund_duplicate(d, session_id=session_id, reason=f"the statement is {d.get_status_display().lower()}")
            return d
        raise ApplicationError("not_payable", gettext('This statement is %(get_status_display)s.') %
            {"get_status_display": d.get_status_display().lower()}, status=409)
    if amount is None or Decimal(amount) != d.amount_due or currency != d.currency:
        if method == "card":
            _refund_duplicate(d, session_id=session_id,
                              reason=f"paid {amount} {currency}, due {d.amount_due} {d.currency}")
            return d
        raise ApplicationError("amount_mismatch", gettext('The amount due is %(amount_due)s %(currency)s.') %
            {"amount_due": d.amount_due, "currency": d.currency},
                               details={"amount": [gettext('Must be %(amount_due)s.') % {"amount_due": d.amount_due}]})
    before = snapshot(d, ["paid_at"])
    d.payment_method, d.payment_reference, d.paid_amount, d.paid_at = method, reference, Decimal(amount), timezone.now()
    if session_id:
        d.payment_session_id = session_id
    d.save()
    audit(actor=actor, action="tokens.distribution_paid", obj=d, before=before,
          after={"method": method, "reference": reference, "amount": amount, "currency": currency,
                 **({"recorded_by": d.recorded_by_id} if method == "bank" else {})})
    _fund(actor=actor, d=d)
    return d


def _refund_duplicate(d: Distribution, *, session_id: str, reason: str) -> None:
    """A card payment that cannot be used (the period is already paid, the statement is no
    longer payable, the amount is wrong) goes back through the provider, once per session."""

    payment = payment_for_session(session_id=session_id)
    if payment is None:
        logger.error("Distribution %s: card payment %s to refund is unknown", d.pk, session_id)
        return
    refund_create(actor=None, payment=payment, reason=f"MedRWA revenue statement: {reason}",
                  idempotency_key=f"{d.key}:refund:{session_id}")
    audit(actor=None, action="tokens.distribution_payment_refunded", obj=d,
          after={"session": session_id}, reason=reason)


# --------------------------------------------------------------------------- funding and deposit


def _stablecoin() -> tuple[str, bool]:
    """(address, local mock?) — CHAIN_STABLECOIN_ADDRESS on real chains; the mock locally."""

    return stablecoin_address(), not getattr(settings, "CHAIN_STABLECOIN_ADDRESS", "")


def canonical_json(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def min_cell() -> int:
    """Smallest CPT × payer cell a public report names (DISTRIBUTION_REPORT_MIN_CELL, default 5)."""
    return max(1, settings.DISTRIBUTION_REPORT_MIN_CELL)


def public_revenue_lines(lines: list[dict], *, k: int, currency: str) -> tuple[list[dict], dict | None]:
    """The revenue lines a public report names, and the one line the others are merged into.

    Compute lines and procedure cells (CPT × payer) of at least `k` procedures are published as
    they are. Smaller cells are merged into one line without CPT or payer; if that line holds
    fewer than `k` procedures itself, the smallest published cells join it until it does:
    fee schedules are public, so a merged line of one procedure would name its CPT by its price
    (the merged line is also the gross minus the published ones, so it cannot simply be left out)."""
    def size(line: dict) -> int:
        return abs(int(line.get("count") or 0))

    procedures = [ln for ln in lines if ln.get("kind") == "procedure"]
    merged = [ln for ln in procedures if size(ln) < k]
    kept = sorted((ln for ln in procedures if size(ln) >= k), key=size)
    while merged and sum(size(ln) for ln in merged) < k and kept:
        merged.append(kept.pop(0))
    if not merged:
        return list(lines), None
    gone = {id(ln) for ln in merged}
    return [ln for ln in lines if id(ln) not in gone], {
        "kind": "procedure", "merged_cells": len(merged), "count": sum(int(ln.get("count") or 0) for ln in merged),
        "unpriced": sum(int(ln.get("count") or 0) for ln in merged if ln.get("amount") is None),
        "amount": str(sum((Decimal(ln["amount"]) for ln in merged if ln.get("amount") is not None), Decimal(0))),
        "currency": currency}


def build_detail(d: Distribution) -> dict:
    """The detailed usage behind a report: per-day counts and every CPT × payer cell. Shown to
    the clinic, platform admins and the token's holders; the public report carries its SHA-256.
    The random salt makes that hash a hiding commitment: without it, small counts could be
    guessed and checked against the public hash."""

    period, device = d.period, d.offering.device
    return {
        "schema": DETAIL_SCHEMA,
        "distribution": str(d.public_id),
        "salt": secrets.token_hex(16),
        "period": {"start": period.period_start.isoformat(), "end": period.period_end.isoformat()},
        "usage": {"daily": [{k: (str(v) if not isinstance(v, int | str) else v) for k, v in row.items()}
                            for row in daily_usage(device=device, start=period.period_start, end=period.period_end)]},
        "revenue_lines": period.lines,
    }


def build_report(*, d: Distribution, decimals: int, stablecoin: str, pps_before: int, magnitude: int,
                 detail: dict | None = None) -> dict:
    """The public report: what anyone needs to check the deposit (gross, terms, waterfall, the
    pool, N units, token, the accumulator before), the month's totals, the CPT × payer cells of
    at least min_cell() procedures, and the SHA-256 of the detailed usage (build_detail). No
    per-day counts and no small cells: a named clinic's month must not single out patients.

    The deposit passes the pool for all N units (`pool_base_units`); the token credits pool / N
    per unit and pulls what the units outstanding at the deposit block earn. That supply, and so
    the amount pulled, is read from the chain by the verifier, not stated here: units sold
    between freezing the report and mining the deposit share in it at pool / N each.
    The report states the token's pointsPerShare before the deposit, which only deposits move
    (one in flight per token: `_fund`), and the SHA-256 of the pinned terms the token recorded
    at deployment (tokens.waterfall.terms_hash)."""
    period, offering = d.period, d.offering
    amount = d.holders_amount.scaleb(decimals)
    if amount != amount.to_integral_value():
        raise ApplicationError("amount_precision", gettext('%(holders_amount)s does not fit %(decimals)s decimals.') %
            {"holders_amount": d.holders_amount, "decimals": decimals})
    device = offering.device
    k = min_cell()
    lines, merged = public_revenue_lines(period.lines or [], k=k, currency=d.currency)
    detail = build_detail(d) if detail is None else detail
    terms = d.waterfall["terms"]
    return {
        "schema": REPORT_SCHEMA,
        "distribution": str(d.public_id),
        "device": {"modality": device.modality, "manufacturer": device.manufacturer, "model": device.model_name,
                   "clinic": device.organization.name, "chain_device_id": offering.chain_device_id},
        "period": {"start": period.period_start.isoformat(), "end": period.period_end.isoformat(),
                   "kind": period.kind,
                   "adjusts": str(period.adjusts.period_start) if period.adjusts_id else None},
        "revenue": {"procedures": period.procedures, "unpriced_procedures": period.unpriced_procedures,
                    "compute_jobs": period.compute_jobs, "procedure_amount": str(period.procedure_amount),
                    "compute_amount": str(period.compute_amount), "min_cell": k, "lines": lines, "merged": merged},
        "detail": {"schema": DETAIL_SCHEMA, "sha256": hashlib.sha256(canonical_json(detail)).hexdigest()},
        "currency": d.currency,
        "gross": str(d.gross),
        "terms": terms,
        "units": {"total": d.units_total, "outstanding_at_statement": d.units_outstanding},
        "terms_sha256": waterfall.terms_hash(waterfall.Terms.from_json(terms), units=d.units_total,
                                             currency=d.currency),
        "waterfall": {"lines": d.waterfall["lines"], "platform_fee": str(d.platform_fee), "reserve": str(d.reserve),
                      "reserve_balance_before": d.waterfall.get("reserve_balance_before", "0"),
                      "reserve_to_holders": d.waterfall.get("reserve_to_holders", "0"),
                      "clinic_share": str(d.clinic_share), "holders_amount": str(d.holders_amount),
                      "investors_amount": str(d.investors_amount), "retained_amount": str(d.retained_amount),
                      "amount_due": str(d.amount_due)},
        "pool_base_units": str(int(amount)),
        "chain_id": settings.CHAIN_ID,
        "token": {"address": offering.token_address, "symbol": offering.token_symbol},
        "stablecoin": {"address": stablecoin, "decimals": decimals},
        "accumulator": {"magnitude": str(magnitude), "points_per_share_before": str(pps_before)},
    }


def _fund(*, actor, d: Distribution) -> Distribution:
    """Paid → freeze the report → queue mint (local) / approve / deposit, or wait for funds.
    Called with `d` locked, inside the caller's transaction."""

    _require_not_reversed(d)
    # Deposits of one token are serialised: the offering row is locked before looking for a
    # deposit in flight, so two funding paths of the token (a webhook, the periodic retry, an
    # admin's retry or bank confirmation) cannot both find none and both queue. Orders lock the
    # same row to queue mints. The partial unique constraint (one `depositing` per offering)
    # backs it where the lock does not exist (SQLite).
    Offering.objects.select_for_update().filter(pk=d.offering_id).first()
    in_flight = Distribution.objects.filter(status=S.DEPOSITING).exclude(pk=d.pk)
    if in_flight.filter(offering_id=d.offering_id).exists():
        return _wait(actor=actor, d=d,
                     why=gettext_noop("The previous deposit of this token is being confirmed; this one follows."))
    token = d.offering.token_address
    stablecoin, local = _stablecoin()
    try:
        decimals = int(gateway.call("MockStablecoin", stablecoin, "decimals"))
        supply = int(gateway.call("SecurityToken", token, "totalSupply"))
        pps = int(gateway.call("SecurityToken", token, "pointsPerShare"))
        magnitude = int(gateway.call("SecurityToken", token, "MAGNITUDE"))
        treasury = gateway.address_of("agent")
        balance = 0 if local else int(gateway.call("MockStablecoin", stablecoin, "balanceOf", treasury))
    except gateway.ChainUnavailable as exc:
        return _wait(actor=actor, d=d, why=f"The chain node is unreachable ({exc}); retrying.")
    if supply == 0:
        return _wait(actor=actor, d=d,
                     why=gettext_noop("The token has no holders yet; the deposit waits for the first units."))
    detail = build_detail(d)
    report = build_report(d=d, decimals=decimals, stablecoin=stablecoin, pps_before=pps, magnitude=magnitude,
                          detail=detail)
    # The token pulls at most the pool (supply <= N), so allowing the pool covers units sold
    # before the deposit is mined; the treasury needs what the units outstanding now earn.
    base = int(report["pool_base_units"])
    try:
        needed = int(gateway.call("SecurityToken", token, "previewDistribution", base)[0])
    except gateway.ChainUnavailable as exc:
        return _wait(actor=actor, d=d, why=f"The chain node is unreachable ({exc}); retrying.")
    committed = sum(int(a) for a in in_flight.exclude(amount_base_units="").values_list("amount_base_units",
                                                                                        flat=True))
    if not local and balance - committed < needed:
        return _wait(actor=actor, d=d, why=(f"The treasury wallet {treasury} holds {balance} base units of the "
                                            f"stablecoin ({committed} committed to deposits in flight); this "
                                            f"deposit needs {needed}. Fund it; the deposit then goes out on its "
                                            f"own."))
    body = canonical_json(report)
    digest = hashlib.sha256(body).hexdigest()
    key = f"{d.key}:{d.deposit_attempt}"
    try:
        with transaction.atomic():  # a savepoint: the outbox rows go with the state, or neither does
            first = None
            if local:
                first = outbox_enqueue(actor=actor, idempotency_key=f"{key}:mint", kind="tokens.distribution_fund",
                                       contract_name="MockStablecoin", function="mint", args=[treasury, base],
                                       to_address=stablecoin, sender="agent", after=first,
                                       reason=f"local treasury funds distribution {d.public_id}")
            approve = outbox_enqueue(actor=actor, idempotency_key=f"{key}:approve", kind="tokens.distribution_fund",
                                     contract_name="MockStablecoin", function="approve", args=[token, base],
                                     to_address=stablecoin, sender="agent", after=first,
                                     reason=f"allow the token to pull distribution {d.public_id}")
            deposit = outbox_enqueue(actor=actor, idempotency_key=f"{key}:deposit",
                                     kind="tokens.distribution_deposit", contract_name="SecurityToken",
                                     function="distributeRevenue", args=[base, "0x" + digest], to_address=token,
                                     sender="agent", after=approve,
                                     reason=f"distribution {d.public_id}, report sha256 {digest}")
            return _move(actor=actor, d=d, target=S.DEPOSITING, action="tokens.distribution_deposit_queued",
                         stablecoin_address=stablecoin, stablecoin_decimals=decimals, amount_base_units=str(base),
                         report=body.decode(), report_detail=canonical_json(detail).decode(),
                         report_sha256=digest, report_frozen_at=timezone.now(), deposit_tx=deposit, error="")
    except (IntegrityError, ValidationError):
        # Another deposit of the token was queued concurrently (the constraint above): this one
        # follows. Anything else is not ours to swallow.
        d.refresh_from_db()
        if not in_flight.filter(offering_id=d.offering_id).exists():
            raise
        return _wait(actor=actor, d=d,
                     why=gettext_noop("The previous deposit of this token is being confirmed; this one follows."))


def _wait(*, actor, d: Distribution, why: str) -> Distribution:
    if d.status == S.WAITING_FUNDS:
        if d.error != why:
            d.error = why
            d.save(update_fields=["error", "updated_at"])
        return d
    return _move(actor=actor, d=d, target=S.WAITING_FUNDS, action="tokens.distribution_waiting", reason=why,
                 error=why)


def distributions_fund_waiting() -> int:
    """Periodic: retry the deposit of paid distributions that waited for funds or the node."""
    n = 0
    # A statement whose clinic payment was refunded or charged back waits for a platform admin,
    # not for funds: it is never funded.
    for pk in Distribution.objects.filter(status=S.WAITING_FUNDS, payment_reversed_at=None).values_list(
            "pk", flat=True):
        with transaction.atomic():
            d = _lock(Distribution(pk=pk))
            if d.status == S.WAITING_FUNDS and d.payment_reversed_at is None:
                _fund(actor=None, d=d)
                n += d.status == S.DEPOSITING
    return n


@transaction.atomic
def distribution_retry(*, actor, distribution: Distribution) -> Distribution:
    """A platform admin retries a failed deposit (it reverted, so nothing moved)."""
    _require_platform_admin(actor, "retry deposits")
    d = _lock(distribution)
    if d.status != S.FAILED:
        raise ApplicationError("not_failed", gettext("Only a failed deposit can be retried."), status=409)
    _require_not_reversed(d)
    # A reverted deposit moved nothing: a new attempt key, and the report is frozen again with
    # the token's state at this time.
    _move(actor=actor, d=d, target=S.WAITING_FUNDS, action="tokens.distribution_retry",
          deposit_attempt=d.deposit_attempt + 1, error="")
    return _fund(actor=actor, d=d)


def on_deposit_final(row) -> None:
    """chain hook for `tokens.distribution_deposit` rows."""
    d = Distribution.objects.select_for_update().select_related("offering", "period").filter(deposit_tx=row).first()
    if d is None or d.status != S.DEPOSITING:
        return
    if row.status != row.Status.CONFIRMED:
        _move(actor=None, d=d, target=S.FAILED, action="tokens.distribution_failed", error=row.error or "reverted")
        _release_waiting()
        return
    event = next((log for log in (row.receipt or {}).get("logs", []) if log.get("event") == "RevenueDistributed"), None)
    if event is None or event["args"].get("reportHash", "").lower().removeprefix("0x") != d.report_sha256:
        _move(actor=None, d=d, target=S.FAILED, action="tokens.distribution_failed",
              error=gettext_noop("The deposit's RevenueDistributed event does not carry this report's hash."))
        return
    _move(actor=None, d=d, target=S.DISTRIBUTED, action="tokens.distribution_distributed",
          deposit_block=row.block_number, points_per_share_after=str(int(event["args"]["pointsPerShare"])),
          dust_magnified_after=str(int(event["args"]["dustMagnified"])), distributed_at=timezone.now(),
          deposited_base_units=str(int(event["args"]["amount"])),
          units_at_deposit=int(event["args"]["unitsOutstanding"]))

    if d.period.status != RevenuePeriodStatus.SETTLED:
        revenue_period_settle(actor=None, period=d.period)

    index_address(d.offering.token_address)
    _release_waiting()
    _notify_holders(d)


def _notify_holders(d: Distribution) -> None:
    """Each investor holding units at the deposit block hears once that income is claimable."""


    holders = distribution_entitlements(d)["holders"]
    shares: dict = {}
    for w in Wallet.objects.annotate(a=Lower("address")).filter(a__in=list(holders)).select_related("profile__user"):
        shares[w.profile.user] = shares.get(w.profile.user, 0) + holders[w.address.lower()]["base_units"]
    for user, base in shares.items():
        # Claimable and statement ready are one event: the notice links the statement PDF.
        notify(recipient=user, category=NoticeCategory.INCOME, event_key=f"distribution:{d.public_id}:claimable",
               url=reverse("tokens:income-statement", args=[d.public_id]),
               title=format_lazy(gettext_lazy("Income from {device} is claimable; your {month} statement is ready"),
                                 device=str(d.offering.device), month=f"{d.period.period_start:%Y-%m}"),
               body=format_lazy(gettext_lazy(
                   "Your share of this period's revenue, {amount} in stablecoin, is claimable now on your Income "
                   "page. Your statement for the period (revenue, waterfall, your share) can be downloaded as a "
                   "PDF from this link."), amount=format_money(from_token_units(base, d.stablecoin_decimals or 6),
                                                               d.currency)))


def _release_waiting() -> None:
    """A deposit is final: statements waiting behind it are funded now, not at the next tick."""
    enqueue_on_commit("tokens.tasks.distributions_tick")

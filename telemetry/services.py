"""Telemetry state changes: device credentials, clearing plausibility flags, tariffs and
revenue periods. Each one audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from assets.models import Device, DeviceStatus
from core.crypto import encrypt_str
from core.errors import ApplicationError, check_transition
from core.permissions import Role, user_has_role
from core.services import audit, snapshot
from notifications.models import Category as NoticeCategory
from notifications.services import notify_organization
from telemetry import hooks
from telemetry.models import (
    ComputeTariff,
    DeviceCredential,
    DeviceStream,
    PayerMix,
    PlausibilityFlag,
    RevenuePeriod,
    RevenuePeriodKind,
    RevenuePeriodStatus,
    Tariff,
)
from telemetry.selectors import compute_revenue, explained, month_bounds

MAX_ACTIVE_CREDENTIALS = 2
CREDENTIAL_DEVICE_STATUSES = (DeviceStatus.CERTIFIED, DeviceStatus.TOKENIZED)


@dataclass(frozen=True)
class IssuedCredential:
    credential: DeviceCredential
    secret: str  # shown once; only its encryption is stored


def _require_clinic_admin(actor, device: Device) -> None:
    if not (user_has_role(actor, Role.CLINIC_ADMIN, organization=device.organization_id)
            or user_has_role(actor, Role.PLATFORM_ADMIN)):
        raise ApplicationError("permission_denied", gettext("Only the clinic's admin manages device credentials."),
                               status=403)


@transaction.atomic
def credential_issue(*, actor, device: Device, label: str = "") -> IssuedCredential:
    """A new key id + secret for the device. The previous active key stays valid (rotation:
    two active at most); issuing a third revokes the oldest."""
    _require_clinic_admin(actor, device)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.status not in CREDENTIAL_DEVICE_STATUSES:
        raise ApplicationError(
            "device_not_certified", gettext("Telemetry credentials are issued once the device is certified."),
            details={"status": device.status}, status=409,
        )
    now = timezone.now()
    active = list(DeviceCredential.objects.filter(device=device, revoked_at=None).order_by("created_at", "pk"))
    for old in active[: max(0, len(active) - (MAX_ACTIVE_CREDENTIALS - 1))]:
        old.revoked_at, old.revoked_by, old.revoke_reason = now, actor, "rotated out by a newer key"
        old.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"])
        audit(actor=actor, action="telemetry.credential_revoke", obj=old, before={"active": True},
              after={"active": False, "key_id": old.key_id}, reason=old.revoke_reason)
    secret = secrets.token_urlsafe(32)
    cred = DeviceCredential(device=device, key_id="dk_" + secrets.token_hex(12), secret_encrypted=encrypt_str(secret),
                            label=label[:80], issued_by=actor)
    cred.full_clean()
    cred.save()
    DeviceStream.objects.get_or_create(device=device)
    audit(actor=actor, action="telemetry.credential_issue", obj=cred,
          after={"key_id": cred.key_id, "device": device.pk, "label": cred.label})
    notify_organization(organization_id=device.organization_id, category=NoticeCategory.SECURITY,
                        event_key=f"telemetry.credential:{cred.key_id}:issued",
                        title=format_lazy(gettext_lazy("A device key was issued for {device}"), device=str(device)),
                        url=f"/telemetry/devices/{device.pk}/credentials/",
                        body=format_lazy(gettext_lazy("Key {key} was issued by {actor}. If you did not expect this, "
                                                      "revoke it."), key=cred.key_id, actor=_actor_label(actor)))
    return IssuedCredential(cred, secret)


def _actor_label(actor):
    return getattr(actor, "email", "") or gettext_lazy("the platform")


@transaction.atomic
def credential_revoke(*, actor, credential: DeviceCredential, reason: str = "") -> DeviceCredential:
    _require_clinic_admin(actor, credential.device)
    credential = DeviceCredential.objects.select_for_update().get(pk=credential.pk)
    if credential.revoked_at is not None:
        raise ApplicationError("already_revoked", gettext("This key is already revoked."), status=409)
    credential.revoked_at, credential.revoked_by, credential.revoke_reason = timezone.now(), actor, reason[:200]
    credential.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"])
    audit(actor=actor, action="telemetry.credential_revoke", obj=credential, before={"active": True},
          after={"active": False, "key_id": credential.key_id}, reason=reason)
    notify_organization(organization_id=credential.device.organization_id, category=NoticeCategory.SECURITY,
                        event_key=f"telemetry.credential:{credential.key_id}:revoked",
                        title=format_lazy(gettext_lazy("A device key was revoked for {device}"),
                                          device=str(credential.device)),
                        url=f"/telemetry/devices/{credential.device_id}/credentials/",
                        body=format_lazy(gettext_lazy("Key {key} was revoked by {actor}: {reason}") if reason
                                         else gettext_lazy("Key {key} was revoked by {actor}."),
                                         key=credential.key_id, actor=_actor_label(actor), reason=reason))
    return credential


def _require_not_key_issuer(actor, device: Device, what: str) -> None:
    """Separation of duties: whoever issued a device's telemetry keys could sign its usage;
    they may not also vouch for its flagged events or close its months — another platform
    admin does."""
    if DeviceCredential.objects.filter(device=device, issued_by=actor).exists():
        raise ApplicationError(
            "separation_of_duties",
            gettext("You issued this device's telemetry keys; another platform admin must %(what)s.") % {"what": what},
            status=403)


@transaction.atomic
def flag_clear(*, actor, flag: PlausibilityFlag, reason: str) -> PlausibilityFlag:
    """A platform admin vouches for a flagged event; it counts towards revenue again."""
    if not user_has_role(actor, Role.PLATFORM_ADMIN):
        raise ApplicationError("permission_denied", gettext("Only a platform admin can clear a flag."), status=403)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", gettext("Say why the flag is cleared."),
                               details={"reason": [gettext("This field is required.")]})
    flag = PlausibilityFlag.objects.select_for_update().get(pk=flag.pk)
    _require_not_key_issuer(actor, flag.device, gettext("clear its flags"))
    if flag.cleared_at is not None:
        raise ApplicationError("already_cleared", gettext("This flag is already cleared."), status=409)
    before = snapshot(flag, ["cleared_at"])
    flag.cleared_at, flag.cleared_by, flag.clear_reason = timezone.now(), actor, reason
    flag.save(update_fields=["cleared_at", "cleared_by", "clear_reason", "updated_at"])
    audit(actor=actor, action="telemetry.flag_clear", obj=flag, before=before,
          after={**snapshot(flag, ["cleared_at"]), "code": flag.code, "event": flag.event_id}, reason=reason)
    return flag


@transaction.atomic
def tariff_set(*, actor, cpt_code: str, payer: str, year: int, technical_fee: Decimal, currency: str) -> Tariff:
    if not user_has_role(actor, Role.PLATFORM_ADMIN):
        raise ApplicationError("permission_denied", gettext("Only a platform admin edits the fee schedule."),
            status=403)
    technical_fee = Decimal(technical_fee)
    if technical_fee < 0:
        raise ApplicationError("invalid_fee", gettext("A technical fee cannot be negative."),
                               details={"technical_fee": [gettext("Must be 0 or more.")]})
    cpt_code, payer = (cpt_code or "").strip().upper(), (payer or "").strip() or "default"
    # A payer's schedule in one currency: revenue sums fees, it never converts them.
    other = (Tariff.objects.filter(payer=payer).exclude(currency=currency)
             .exclude(cpt_code=cpt_code, year=year).values_list("currency", flat=True).first())
    if other:
        raise ApplicationError("mixed_currencies", gettext('The %(payer)s fee schedule is in %(other)s.') %
            {"payer": payer, "other": other},
                               details={"currency": [gettext('Use %(other)s for payer %(payer)s.') % {"other": other,
                                   "payer": payer}]})
    tariff = Tariff.objects.select_for_update().filter(cpt_code=cpt_code, payer=payer, year=year).first()
    before = snapshot(tariff, ["technical_fee", "currency"]) if tariff else None
    tariff = tariff or Tariff(cpt_code=cpt_code, payer=payer, year=year)
    tariff.technical_fee, tariff.currency = technical_fee, currency
    tariff.full_clean()
    tariff.save()
    audit(actor=actor, action="telemetry.tariff_set", obj=tariff, before=before,
          after=snapshot(tariff, ["cpt_code", "payer", "year", "technical_fee", "currency"]))
    return tariff


def _require_platform_admin(actor, message: str) -> None:
    if not user_has_role(actor, Role.PLATFORM_ADMIN):
        raise ApplicationError("permission_denied", message, status=403)


@transaction.atomic
def compute_tariff_set(*, actor, year: int, price_per_gpu_hour: Decimal, currency: str) -> ComputeTariff:
    """The price of a GPU-hour of compute sold in `year` (creates or replaces; audited)."""
    _require_platform_admin(actor, "Only a platform admin edits the compute tariff.")
    price = Decimal(price_per_gpu_hour)
    if price < 0:
        raise ApplicationError("invalid_price", gettext("A price cannot be negative."),
                               details={"price_per_gpu_hour": [gettext("Must be 0 or more.")]})
    tariff = ComputeTariff.objects.select_for_update().filter(year=year).first()
    before = snapshot(tariff, ["price_per_gpu_hour", "currency"]) if tariff else None
    tariff = tariff or ComputeTariff(year=year)
    tariff.price_per_gpu_hour, tariff.currency = price, currency
    tariff.full_clean()
    tariff.save()
    audit(actor=actor, action="telemetry.compute_tariff_set", obj=tariff, before=before,
          after=snapshot(tariff, ["year", "price_per_gpu_hour", "currency"]))
    return tariff


MIX_TOTAL = Decimal(100)


@transaction.atomic
def payer_mix_set(*, actor, device: Device, shares: list[tuple[str, Decimal]]) -> list[PayerMix]:
    """Replace the device's payer mix: (payer, share %) pairs, each > 0 with at most two
    decimals, summing to exactly 100. Closed periods keep the mix they were computed with."""
    _require_platform_admin(actor, "Only a platform admin sets a device's payer mix.")
    errors: list[str] = []
    clean: list[tuple[str, Decimal]] = []
    for payer, share in shares:
        payer = (payer or "").strip()
        try:
            share = Decimal(str(share))
        except ArithmeticError:
            errors.append(f"{payer or '?'}: the share is not a number.")
            continue
        if not 1 <= len(payer) <= 60:
            errors.append("Each payer needs a name of 1 to 60 characters.")
        elif any(p == payer for p, _ in clean):
            errors.append(f"{payer} is listed twice.")
        elif not (0 < share <= MIX_TOTAL) or share != share.quantize(Decimal("0.01")):
            errors.append(f"{payer}: a share is more than 0 and at most 100, with at most two decimals.")
        else:
            clean.append((payer, share))
    if not errors and not clean:
        errors.append("Give at least one payer.")
    total = sum((sh for _, sh in clean), Decimal(0))
    if not errors and total != MIX_TOTAL:
        errors.append(f"The shares add up to {total} %, not 100 %.")
    if errors:
        raise ApplicationError("invalid_payer_mix", errors[0], details={"shares": errors})
    device = Device.objects.select_for_update().get(pk=device.pk)
    before = {p: str(sh) for p, sh in PayerMix.objects.filter(device=device).values_list("payer", "share_pct")}
    PayerMix.objects.filter(device=device).delete()
    rows = []
    for payer, share in clean:
        row = PayerMix(device=device, payer=payer, share_pct=share)
        row.full_clean()
        rows.append(row)
    PayerMix.objects.bulk_create(rows)
    audit(actor=actor, action="telemetry.payer_mix_set", obj=device, before={"payer_mix": before},
          after={"payer_mix": {p: str(sh) for p, sh in clean}})
    return list(PayerMix.objects.filter(device=device).order_by("-share_pct", "payer"))


PERIOD_TRANSITIONS = {RevenuePeriodStatus.CLOSED: {RevenuePeriodStatus.SETTLED}}
_PERIOD_AUDIT = ["kind", "period_start", "procedures", "compute_jobs", "procedure_amount", "compute_amount", "amount",
                 "currency", "excluded_flagged", "excluded_flagged_jobs"]


@transaction.atomic
def revenue_period_close(*, actor, device: Device, period_start: date) -> RevenuePeriod:
    """Freeze a finished month: completed, unflagged procedures × fee schedule plus
    unflagged compute jobs × compute tariff. Registered `period_closed` hooks run inside
    this transaction; one that fails undoes the close."""
    _require_platform_admin(actor, "Only a platform admin closes revenue periods.")
    # Serializes concurrent closes of one device (the second sees the first's row).
    device = Device.objects.select_for_update().get(pk=device.pk)
    _require_not_key_issuer(actor, device, gettext("close its months"))
    start, end = month_bounds(period_start)
    if end > timezone.now().date():
        raise ApplicationError("period_not_over", gettext("A month can be closed once it is over."), status=409)
    if RevenuePeriod.objects.filter(device=device, period_start=start, kind=RevenuePeriodKind.REGULAR).exists():
        raise ApplicationError("period_closed", gettext("This month is already closed."), status=409)
    figures = compute_revenue(device=device, start=start, end=end)
    period = RevenuePeriod(device=device, period_start=start, period_end=end, status=RevenuePeriodStatus.CLOSED,
                           kind=RevenuePeriodKind.REGULAR, closed_by=actor, **figures)
    period.full_clean()
    period.save()
    audit(actor=actor, action="telemetry.revenue_period_close", obj=period, after=snapshot(period, _PERIOD_AUDIT))
    hooks.run(hooks.PERIOD_CLOSED, period)
    return period


_SCALARS = ("procedures", "unpriced_procedures", "excluded_flagged", "compute_jobs", "compute_gpu_seconds",
            "excluded_flagged_jobs", "procedure_amount", "compute_amount", "amount")


def _line_key(line: dict) -> tuple:
    if line.get("kind") == "compute":
        return ("compute",)
    # Lines stored before payers existed were all the default payer's.
    return ("procedure", line.get("cpt_code") or "", line.get("payer") or "default")


def _line_totals(lines: list[dict]) -> dict[tuple, dict]:
    out: dict[tuple, dict] = {}
    for line in lines:
        t = out.setdefault(_line_key(line), {"count": 0, "jobs": 0, "gpu_seconds": Decimal(0), "amount": Decimal(0),
                                             "line": line})
        t["count"] += int(line.get("count") or 0)
        t["jobs"] += int(line.get("jobs") or 0)
        t["gpu_seconds"] += Decimal(line.get("gpu_seconds") or 0)
        t["amount"] += Decimal(line.get("amount") or 0)
        t["line"] = line
    return out


def _difference_lines(before: list[dict], now: list[dict], currency: str) -> list[dict]:
    old, new = _line_totals(before), _line_totals(now)
    out = []
    for key in sorted(set(old) | set(new)):
        o = old.get(key, {"count": 0, "jobs": 0, "gpu_seconds": Decimal(0), "amount": Decimal(0), "line": {}})
        n = new.get(key, {"count": 0, "jobs": 0, "gpu_seconds": Decimal(0), "amount": Decimal(0), "line": {}})
        ref = n["line"] or o["line"]
        d_amount = n["amount"] - o["amount"]
        if key[0] == "compute":
            d_jobs, d_s = n["jobs"] - o["jobs"], n["gpu_seconds"] - o["gpu_seconds"]
            if not (d_jobs or d_s or d_amount):
                continue
            out.append(explained({
                "kind": "compute", "year": ref.get("year"), "jobs": d_jobs, "gpu_seconds": str(d_s),
                "gpu_hours": str((d_s / 3600).quantize(Decimal("0.0001"))),
                "price_per_gpu_hour": ref.get("price_per_gpu_hour"), "amount": str(d_amount), "currency": currency,
                "difference": True}))
            continue
        d_count = n["count"] - o["count"]
        if not (d_count or d_amount):
            continue
        _, cpt, payer = key
        priced = ref.get("fee") is not None
        out.append(explained({
            "kind": "procedure", "cpt_code": cpt, "payer": payer, "year": ref.get("year"), "count": d_count,
            "fee": ref.get("fee"), "amount": str(d_amount) if priced or d_amount else None, "currency": currency,
            "difference": True}))
    return out


@transaction.atomic
def revenue_period_adjust(*, actor, period: RevenuePeriod, reason: str) -> RevenuePeriod:
    """A closed month is never edited: recompute it now (a flag cleared late, a late event,
    a corrected fee) and record ONLY the difference from what was closed (the original plus
    its earlier adjustments) as a new ADJUSTMENT period. Refused when nothing changed."""
    _require_platform_admin(actor, "Only a platform admin adjusts revenue periods.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", gettext("Say why the period is adjusted."),
                               details={"reason": [gettext("This field is required.")]})
    device = Device.objects.select_for_update().get(pk=period.device_id)  # serializes with closes/adjusts
    _require_not_key_issuer(actor, device, gettext("adjust its months"))
    original = RevenuePeriod.objects.get(pk=period.adjusts_id or period.pk)
    recorded = [original, *original.adjustments.order_by("created_at", "pk")]
    figures = compute_revenue(device=original.device, start=original.period_start, end=original.period_end)
    currency = original.currency
    if figures["currency"] != currency and figures["amount"]:
        raise ApplicationError("mixed_currencies", gettext(
            'The period was closed in %(currency)s; the fee schedule is now in %(figures)s.') % {"currency": currency,
                "figures": figures['currency']}, status=409)
    lines = _difference_lines([ln for p in recorded for ln in p.lines], figures["lines"], currency)
    if not lines:
        raise ApplicationError("no_difference", gettext(
            "Recomputing the month gives what was closed; nothing to adjust."),
                               status=409)
    diff = {f: figures[f] - sum((getattr(p, f) for p in recorded), type(figures[f])(0)) for f in _SCALARS}
    adjustment = RevenuePeriod(device=original.device, period_start=original.period_start,
                               period_end=original.period_end, kind=RevenuePeriodKind.ADJUSTMENT, adjusts=original,
                               reason=reason, status=RevenuePeriodStatus.CLOSED, closed_by=actor, currency=currency,
                               lines=lines, **diff)
    adjustment.full_clean()
    adjustment.save()
    audit(actor=actor, action="telemetry.revenue_period_adjust", obj=adjustment,
          after={**snapshot(adjustment, _PERIOD_AUDIT), "adjusts": original.pk}, reason=reason)
    hooks.run(hooks.PERIOD_CLOSED, adjustment)
    return adjustment


@transaction.atomic
def revenue_period_settle(*, actor, period: RevenuePeriod) -> RevenuePeriod:
    """Mark a closed period as settled: its amount is final and may be distributed.
    `actor=None` is the system (a tokenized device's distribution settles its periods when
    the deposit is confirmed); a person may settle only periods of devices not tokenized."""
    period = RevenuePeriod.objects.select_for_update().select_related("device").get(pk=period.pk)
    if actor is not None:
        _require_platform_admin(actor, "Only a platform admin settles revenue periods.")
        if period.device.status == DeviceStatus.TOKENIZED:
            raise ApplicationError(
                "settled_by_distribution", gettext("This device is tokenized: its revenue periods are settled by its "
                "distribution when the deposit is confirmed, not by hand."), status=409)
    check_transition(entity="revenue period", table=PERIOD_TRANSITIONS, current=period.status,
                     target=RevenuePeriodStatus.SETTLED)
    before = snapshot(period, ["status"])
    period.status, period.settled_at = RevenuePeriodStatus.SETTLED, timezone.now()
    period.save(update_fields=["status", "settled_at", "updated_at"])
    audit(actor=actor, action="telemetry.revenue_period_settle", obj=period, before=before,
          after=snapshot(period, ["status", "kind", "amount", "currency"]))
    return period

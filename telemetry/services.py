"""Telemetry state changes: device credentials, clearing plausibility flags, tariffs and
revenue periods. Each one audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from assets.models import Device, DeviceStatus
from core.crypto import encrypt_str
from core.errors import ApplicationError, check_transition
from core.permissions import Role, user_has_role
from core.services import audit, snapshot
from telemetry.models import (
    DeviceCredential,
    DeviceStream,
    PlausibilityFlag,
    RevenuePeriod,
    RevenuePeriodStatus,
    Tariff,
)

MAX_ACTIVE_CREDENTIALS = 2
CREDENTIAL_DEVICE_STATUSES = (DeviceStatus.CERTIFIED, DeviceStatus.TOKENIZED)


@dataclass(frozen=True)
class IssuedCredential:
    credential: DeviceCredential
    secret: str  # shown once; only its encryption is stored


def _require_clinic_admin(actor, device: Device) -> None:
    if not (user_has_role(actor, Role.CLINIC_ADMIN, organization=device.organization_id)
            or user_has_role(actor, Role.PLATFORM_ADMIN)):
        raise ApplicationError("permission_denied", "Only the clinic's admin manages device credentials.",
                               status=403)


@transaction.atomic
def credential_issue(*, actor, device: Device, label: str = "") -> IssuedCredential:
    """A new key id + secret for the device. The previous active key stays valid (rotation:
    two active at most); issuing a third revokes the oldest."""
    _require_clinic_admin(actor, device)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.status not in CREDENTIAL_DEVICE_STATUSES:
        raise ApplicationError(
            "device_not_certified", "Telemetry credentials are issued once the device is certified.",
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
    return IssuedCredential(cred, secret)


@transaction.atomic
def credential_revoke(*, actor, credential: DeviceCredential, reason: str = "") -> DeviceCredential:
    _require_clinic_admin(actor, credential.device)
    credential = DeviceCredential.objects.select_for_update().get(pk=credential.pk)
    if credential.revoked_at is not None:
        raise ApplicationError("already_revoked", "This key is already revoked.", status=409)
    credential.revoked_at, credential.revoked_by, credential.revoke_reason = timezone.now(), actor, reason[:200]
    credential.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"])
    audit(actor=actor, action="telemetry.credential_revoke", obj=credential, before={"active": True},
          after={"active": False, "key_id": credential.key_id}, reason=reason)
    return credential


@transaction.atomic
def flag_clear(*, actor, flag: PlausibilityFlag, reason: str) -> PlausibilityFlag:
    """A platform admin vouches for a flagged event; it counts towards revenue again."""
    if not user_has_role(actor, Role.PLATFORM_ADMIN):
        raise ApplicationError("permission_denied", "Only a platform admin can clear a flag.", status=403)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", "Say why the flag is cleared.",
                               details={"reason": ["This field is required."]})
    flag = PlausibilityFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.cleared_at is not None:
        raise ApplicationError("already_cleared", "This flag is already cleared.", status=409)
    before = snapshot(flag, ["cleared_at"])
    flag.cleared_at, flag.cleared_by, flag.clear_reason = timezone.now(), actor, reason
    flag.save(update_fields=["cleared_at", "cleared_by", "clear_reason", "updated_at"])
    audit(actor=actor, action="telemetry.flag_clear", obj=flag, before=before,
          after={**snapshot(flag, ["cleared_at"]), "code": flag.code, "event": flag.event_id}, reason=reason)
    return flag


@transaction.atomic
def tariff_set(*, actor, cpt_code: str, payer: str, year: int, technical_fee: Decimal, currency: str) -> Tariff:
    if not user_has_role(actor, Role.PLATFORM_ADMIN):
        raise ApplicationError("permission_denied", "Only a platform admin edits the fee schedule.", status=403)
    technical_fee = Decimal(technical_fee)
    if technical_fee < 0:
        raise ApplicationError("invalid_fee", "A technical fee cannot be negative.",
                               details={"technical_fee": ["Must be 0 or more."]})
    cpt_code, payer = (cpt_code or "").strip().upper(), (payer or "").strip() or "default"
    # A payer's schedule in one currency: revenue sums fees, it never converts them.
    other = (Tariff.objects.filter(payer=payer).exclude(currency=currency)
             .exclude(cpt_code=cpt_code, year=year).values_list("currency", flat=True).first())
    if other:
        raise ApplicationError("mixed_currencies", f"The {payer} fee schedule is in {other}.",
                               details={"currency": [f"Use {other} for payer {payer}."]})
    tariff = Tariff.objects.select_for_update().filter(cpt_code=cpt_code, payer=payer, year=year).first()
    before = snapshot(tariff, ["technical_fee", "currency"]) if tariff else None
    tariff = tariff or Tariff(cpt_code=cpt_code, payer=payer, year=year)
    tariff.technical_fee, tariff.currency = technical_fee, currency
    tariff.full_clean()
    tariff.save()
    audit(actor=actor, action="telemetry.tariff_set", obj=tariff, before=before,
          after=snapshot(tariff, ["cpt_code", "payer", "year", "technical_fee", "currency"]))
    return tariff


PERIOD_TRANSITIONS = {RevenuePeriodStatus.CLOSED: {RevenuePeriodStatus.SETTLED}}


@transaction.atomic
def revenue_period_close(*, actor, device: Device, period_start: date) -> RevenuePeriod:
    """Freeze a finished month: completed, unflagged procedures × tariff."""
    from telemetry.selectors import compute_revenue, month_bounds

    if not user_has_role(actor, Role.PLATFORM_ADMIN):
        raise ApplicationError("permission_denied", "Only a platform admin closes revenue periods.", status=403)
    # Serializes concurrent closes of one device (the second sees the first's row).
    device = Device.objects.select_for_update().get(pk=device.pk)
    start, end = month_bounds(period_start)
    if end > timezone.now().date():
        raise ApplicationError("period_not_over", "A month can be closed once it is over.", status=409)
    if RevenuePeriod.objects.filter(device=device, period_start=start).exists():
        raise ApplicationError("period_closed", "This month is already closed.", status=409)
    figures = compute_revenue(device=device, start=start, end=end)
    period = RevenuePeriod(device=device, period_start=start, period_end=end, status=RevenuePeriodStatus.CLOSED,
                           closed_by=actor, **figures)
    period.full_clean()
    period.save()
    audit(actor=actor, action="telemetry.revenue_period_close", obj=period,
          after=snapshot(period, ["period_start", "procedures", "amount", "currency", "excluded_flagged"]))
    return period


@transaction.atomic
def revenue_period_settle(*, actor, period: RevenuePeriod) -> RevenuePeriod:
    """Mark a closed period as settled: its amount is final and may be distributed."""
    if not user_has_role(actor, Role.PLATFORM_ADMIN):
        raise ApplicationError("permission_denied", "Only a platform admin settles revenue periods.", status=403)
    period = RevenuePeriod.objects.select_for_update().get(pk=period.pk)
    check_transition(entity="revenue period", table=PERIOD_TRANSITIONS, current=period.status,
                     target=RevenuePeriodStatus.SETTLED)
    before = snapshot(period, ["status"])
    period.status, period.settled_at = RevenuePeriodStatus.SETTLED, timezone.now()
    period.save(update_fields=["status", "settled_at", "updated_at"])
    audit(actor=actor, action="telemetry.revenue_period_settle", obj=period, before=before,
          after=snapshot(period, ["status", "amount", "currency"]))
    return period

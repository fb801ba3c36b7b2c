"""Telemetry reads, scoped to what the user may see (404 otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from assets import selectors as assets_selectors
from assets.models import Device
from core.money import quantize
from core.permissions import Role, user_clinic_ids, user_has_role
from telemetry.models import (
    DailyRollup,
    DeviceCredential,
    DeviceStream,
    EventKind,
    FlagCode,
    PlausibilityFlag,
    RevenuePeriod,
    Tariff,
    TelemetryEvent,
)


def devices_for_user(*, user) -> QuerySet[Device]:
    if user_has_role(user, Role.PLATFORM_ADMIN):
        # The device pages' rule: a clinic's drafts are its own until submitted.
        return assets_selectors.device_visible_qs(user=user)
    return Device.objects.filter(organization_id__in=user_clinic_ids(user))


def device_get_for_user(*, user, device_id) -> Device:
    return assets_selectors.device_get_for_user(user=user, device_id=device_id)


def device_credentials(*, device: Device) -> QuerySet[DeviceCredential]:
    return DeviceCredential.objects.filter(device=device).order_by("revoked_at", "-created_at")


def credential_get_for_user(*, user, credential_id) -> DeviceCredential:
    cred = DeviceCredential.objects.select_related("device").filter(pk=credential_id).first()
    if cred is None or not devices_for_user(user=user).filter(pk=cred.device_id).exists():
        raise Http404("No such credential.")
    return cred


def flags_for_user(*, user, open_only: bool = False, device: Device | None = None) -> QuerySet[PlausibilityFlag]:
    qs = PlausibilityFlag.objects.select_related("event", "device").filter(
        device__in=devices_for_user(user=user))
    if device is not None:
        qs = qs.filter(device=device)
    if open_only:
        qs = qs.filter(cleared_at=None)
    return qs.order_by("-created_at")


def flag_get_for_user(*, user, flag_id) -> PlausibilityFlag:
    flag = flags_for_user(user=user).filter(pk=flag_id).first()
    if flag is None:
        raise Http404("No such flag.")
    return flag


def recent_procedures(*, device: Device, limit: int = 50) -> list[TelemetryEvent]:
    open_flag = PlausibilityFlag.objects.filter(event=OuterRef("pk"), cleared_at=None)
    return list(TelemetryEvent.objects.filter(device=device, kind=EventKind.PROCEDURE)
                .annotate(flagged=Exists(open_flag)).order_by("-occurred_at")[:limit])


@dataclass(frozen=True)
class HealthRow:
    device: Device
    last_seen_at: datetime | None
    last_event_at: datetime | None
    last_seq: int
    events_total: int
    gaps: int
    open_flags: int
    active_keys: int

    @property
    def silent(self) -> bool:
        quiet = timedelta(minutes=getattr(settings, "TELEMETRY_SILENT_AFTER_MINUTES", 30))
        return self.last_seen_at is None or timezone.now() - self.last_seen_at > quiet


def health_rows(*, user) -> list[HealthRow]:
    devices = list(devices_for_user(user=user).select_related("organization").order_by("organization__name", "pk"))
    ids = [d.pk for d in devices]
    streams = {s.device_id: s for s in DeviceStream.objects.filter(device_id__in=ids)}
    flag_counts = {
        row["device_id"]: row for row in PlausibilityFlag.objects.filter(device_id__in=ids, cleared_at=None)
        .values("device_id").annotate(n=Count("id"), gaps=Count("id", filter=Q(code=FlagCode.SEQUENCE_GAP)))
    }
    keys = dict(DeviceCredential.objects.filter(device_id__in=ids, revoked_at=None).values("device_id")
                .annotate(n=Count("id")).values_list("device_id", "n"))
    rows = []
    for d in devices:
        s = streams.get(d.pk)
        f = flag_counts.get(d.pk, {})
        rows.append(HealthRow(d, s.last_seen_at if s else None, s.last_event_at if s else None,
                              s.last_seq if s else 0, s.events_total if s else 0, f.get("gaps", 0), f.get("n", 0),
                              keys.get(d.pk, 0)))
    return rows


def device_daily_procedures(*, device: Device, days: int) -> list[dict]:
    """The last `days` UTC days (today included), oldest first, zero-filled:
    {"day", "procedures" (completed), "discontinued", "gpu_hours", "online_hours"}."""
    today = timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    by_day = {r.day: r for r in DailyRollup.objects.filter(device=device, day__gte=first, day__lte=today)}
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        r = by_day.get(day)
        out.append({
            "day": day,
            "procedures": r.procedures_completed if r else 0,
            "discontinued": r.procedures_discontinued if r else 0,
            "gpu_hours": (r.gpu_seconds / 3600).quantize(Decimal("0.01")) if r else Decimal("0.00"),
            "online_hours": r.online_hours if r else 0,
        })
    return out


def utilization_chart(*, device: Device, days: int = 30) -> dict:
    """JSON-safe series for the device page's charts."""
    rows = device_daily_procedures(device=device, days=days)
    return {
        "labels": [r["day"].isoformat() for r in rows],
        "procedures": [r["procedures"] for r in rows],
        "gpu_hours": [float(r["gpu_hours"]) for r in rows],  # chart drawing only, never money
        "uptime_pct": [round(100 * r["online_hours"] / 24) for r in rows],
    }


# -- revenue ---------------------------------------------------------------------------------

def month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _dt(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _tariffs(payer: str) -> dict[str, list[Tariff]]:
    out: dict[str, list[Tariff]] = {}
    for t in Tariff.objects.filter(payer=payer).order_by("cpt_code", "-year"):
        out.setdefault(t.cpt_code, []).append(t)
    return out


def _tariff_for(tariffs: dict[str, list[Tariff]], cpt: str, year: int) -> Tariff | None:
    # The year's fee, else the most recent earlier one.
    return next((t for t in tariffs.get(cpt, []) if t.year <= year), None)


def compute_revenue(*, device: Device, start: date, end: date, payer: str | None = None) -> dict:
    """Completed procedures ending in [start, end) without an open flag × the fee schedule."""
    payer = payer or getattr(settings, "TELEMETRY_DEFAULT_PAYER", "default")
    procs = TelemetryEvent.objects.filter(device=device, kind=EventKind.PROCEDURE, status="COMPLETED",
                                          occurred_at__gte=_dt(start), occurred_at__lt=_dt(end))
    open_flag = PlausibilityFlag.objects.filter(event=OuterRef("pk"), cleared_at=None)
    flagged = procs.filter(Exists(open_flag)).count()
    tariffs = _tariffs(payer)
    lines, amount, count, unpriced, currencies = [], Decimal(0), 0, 0, set()
    for row in procs.exclude(Exists(open_flag)).values("cpt_code").annotate(n=Count("id")).order_by("cpt_code"):
        tariff = _tariff_for(tariffs, row["cpt_code"], start.year)
        count += row["n"]
        if tariff is None:
            unpriced += row["n"]
            lines.append({"cpt_code": row["cpt_code"], "count": row["n"], "fee": None, "amount": None})
            continue
        line = tariff.technical_fee * row["n"]
        amount += line
        currencies.add(tariff.currency)
        lines.append({"cpt_code": row["cpt_code"], "count": row["n"], "fee": str(tariff.technical_fee),
                      "amount": str(quantize(line, tariff.currency))})
    if len(currencies) > 1:
        from core.errors import ApplicationError

        raise ApplicationError("mixed_currencies", "The fee schedule mixes currencies for this device.",
                               details={"currencies": sorted(currencies)})
    currency = currencies.pop() if currencies else getattr(settings, "TELEMETRY_CURRENCY", "USD")
    return {"procedures": count, "unpriced_procedures": unpriced, "excluded_flagged": flagged,
            "amount": quantize(amount, currency), "currency": currency, "lines": lines}


@dataclass(frozen=True)
class RevenuePeriodView:
    period_start: date
    period_end: date
    status: str  # open | closed | settled
    procedures: int
    unpriced_procedures: int
    excluded_flagged: int
    amount: Decimal
    currency: str
    lines: list
    period: RevenuePeriod | None = None


def tariff_list() -> QuerySet[Tariff]:
    return Tariff.objects.order_by("payer", "cpt_code", "-year")


def revenue_period_get_for_user(*, user, period_id) -> RevenuePeriod:
    period = RevenuePeriod.objects.select_related("device").filter(
        pk=period_id, device__in=devices_for_user(user=user)).first()
    if period is None:
        raise Http404("No such revenue period.")
    return period


def device_revenue_periods(*, device: Device) -> list[RevenuePeriodView]:
    """Monthly revenue, newest first: closed/settled months as frozen, the others computed
    now (they change as flags are cleared or late events arrive)."""
    stored = {p.period_start: p for p in RevenuePeriod.objects.filter(device=device)}
    first = TelemetryEvent.objects.filter(device=device, kind=EventKind.PROCEDURE).order_by("occurred_at").first()
    months: set[date] = set(stored)
    if first is not None:
        cursor = first.occurred_at.astimezone(UTC).date().replace(day=1)
        today = timezone.now().astimezone(UTC).date()
        while cursor <= today:
            months.add(cursor)
            cursor = month_bounds(cursor)[1]
    out = []
    for start in sorted(months, reverse=True):
        p = stored.get(start)
        if p is not None:
            out.append(RevenuePeriodView(p.period_start, p.period_end, p.status, p.procedures, p.unpriced_procedures,
                                         p.excluded_flagged, p.amount, p.currency, p.lines, p))
            continue
        end = month_bounds(start)[1]
        f = compute_revenue(device=device, start=start, end=end)
        out.append(RevenuePeriodView(start, end, "open", f["procedures"], f["unpriced_procedures"],
                                     f["excluded_flagged"], f["amount"], f["currency"], f["lines"]))
    return out

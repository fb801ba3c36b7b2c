"""Telemetry reads, scoped to what the user may see (404 otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from assets import selectors as assets_selectors
from assets.models import Device
from core.errors import ApplicationError
from core.money import quantize
from core.permissions import Role, user_clinic_ids, user_has_role
from telemetry.models import (
    ComputeTariff,
    DailyRollup,
    DeviceCredential,
    DeviceStream,
    EventKind,
    FlagCode,
    PayerMix,
    PlausibilityFlag,
    RevenuePeriod,
    RevenuePeriodKind,
    RevenuePeriodStatus,
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


def _rollup_days(*, device: Device, start: date, end: date) -> Iterator[tuple[date, DailyRollup | None]]:
    """(day, its DailyRollup or None) per UTC day in [start, end), oldest first, one query."""
    by_day = {r.day: r for r in DailyRollup.objects.filter(device=device, day__gte=start, day__lt=end)}
    day = start
    while day < end:
        yield day, by_day.get(day)
        day += timedelta(days=1)


def device_daily_procedures(*, device: Device, days: int) -> list[dict]:
    """The last `days` UTC days (today included), oldest first, zero-filled:
    {"day", "procedures" (completed), "discontinued", "gpu_hours", "online_hours"}."""
    today = timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    return [{
        "day": day,
        "procedures": r.procedures_completed if r else 0,
        "discontinued": r.procedures_discontinued if r else 0,
        "gpu_hours": (r.gpu_seconds / 3600).quantize(Decimal("0.01")) if r else Decimal("0.00"),
        "online_hours": r.online_hours if r else 0,
    } for day, r in _rollup_days(device=device, start=first, end=today + timedelta(days=1))]


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


DEFAULT_PAYER = "default"
_HOUR = Decimal(3600)


def _default_payer() -> str:
    return getattr(settings, "TELEMETRY_DEFAULT_PAYER", DEFAULT_PAYER)


def _tariffs() -> dict[tuple[str, str], list[Tariff]]:
    out: dict[tuple[str, str], list[Tariff]] = {}
    for t in Tariff.objects.order_by("cpt_code", "payer", "-year"):
        out.setdefault((t.cpt_code, t.payer), []).append(t)
    return out


def _tariff_for(tariffs: dict[tuple[str, str], list[Tariff]], cpt: str, payer: str, year: int) -> Tariff | None:
    # The year's fee, else the most recent earlier one.
    return next((t for t in tariffs.get((cpt, payer), []) if t.year <= year), None)


def compute_tariff_for(year: int) -> ComputeTariff | None:
    return ComputeTariff.objects.filter(year__lte=year).order_by("-year").first()


def compute_tariff_list() -> QuerySet[ComputeTariff]:
    return ComputeTariff.objects.order_by("-year")


def payer_mix(*, device: Device) -> list[tuple[str, Decimal]]:
    """The device's (payer, share %) pairs, largest first; 100 % default when none is set."""
    rows = list(PayerMix.objects.filter(device=device).order_by("-share_pct", "payer")
                .values_list("payer", "share_pct"))
    return rows or [(_default_payer(), Decimal(100))]


def apportion(count: int, mix: list[tuple[str, Decimal]]) -> dict[str, int]:
    """Split an integer count by percentage shares (largest remainder, Decimal): every part
    is an integer and the parts sum to `count` exactly. Ties go to the larger share, then
    the payer name, so the split is deterministic."""
    total = sum((share for _, share in mix), Decimal(0))
    quotas = [(payer, Decimal(count) * share / total) for payer, share in mix]
    parts = {payer: int(q) for payer, q in quotas}  # floor: quotas are >= 0
    left = count - sum(parts.values())
    order = sorted(quotas, key=lambda pq: (-(pq[1] - int(pq[1])), -dict(mix)[pq[0]], pq[0]))
    for payer, _ in order[:left]:
        parts[payer] += 1
    return parts


def _money(amount: Decimal, currency: str) -> str:
    q = quantize(amount, currency)
    return f"${q:,}" if currency == "USD" else f"{q:,} {currency}"


def signed_money(amount, currency: str) -> str:
    amount = Decimal(amount or 0)
    return f"{'+' if amount >= 0 else '−'}{abs(amount)} {currency}"


def _describe_difference(line: dict) -> str:
    """An adjusting period's line: what changed since the close (telemetry.services._difference_lines)."""
    signed = signed_money(line.get("amount"), line["currency"])
    if line["kind"] == "compute":
        return gettext("%(jobs)s compute jobs, %(hours)s GPU-hours: %(amount)s (recomputed since the close)") % {
            "jobs": f"{int(line['jobs']):+d}", "hours": f"{Decimal(line['gpu_seconds']) / _HOUR:+.4f}",
            "amount": signed}
    price = (f"{line['fee']} {line['currency']}" if line.get("fee") is not None else gettext("unpriced"))
    return gettext("%(n)s × CPT %(cpt)s (%(payer)s %(year)s, %(price)s): %(amount)s (recomputed since the "
                   "close)") % {"n": f"{int(line['count']):+d}", "cpt": line["cpt_code"] or "—",
                                "payer": line["payer"], "year": line.get("year") or "", "price": price,
                                "amount": signed}


KIND_LABELS = {"procedure": gettext_lazy("Procedures"), "compute": gettext_lazy("Compute jobs")}


def describe_line(line: dict) -> str:
    """A revenue line's explanation in the reader's language, rebuilt from its fields. The
    stored English `explanation` is frozen with the period (and hashed into distribution
    reports); it is what shows for a line of a shape this code does not know."""
    try:
        if line.get("difference"):
            return _describe_difference(line)
        if line["kind"] == "procedure":
            n, cpt, payer = line["count"], line["cpt_code"], line["payer"]
            if line.get("amount") is None and "reason" in line:
                reason = (gettext("no CPT code reported") if not cpt else
                          gettext("no fee for CPT %(cpt)s from payer %(payer)s for %(year)s or earlier") % {
                              "cpt": cpt, "payer": payer, "year": line["year"]})
                return gettext("%(n)s × CPT %(cpt)s (%(payer)s %(year)s): unpriced, %(reason)s") % {
                    "n": n, "cpt": cpt or "—", "payer": payer, "year": line["year"], "reason": reason}
            if line.get("amount") is None:  # an unmarked difference line (older data): its stored text
                return line.get("explanation", "")
            text = gettext("%(n)s × CPT %(cpt)s (%(payer)s %(year)s, %(fee)s)") % {
                "n": n, "cpt": cpt, "payer": payer, "year": line["tariff_year"],
                "fee": _money(Decimal(line["fee"]), line["currency"])}
            if line.get("apportioned"):
                text += gettext(", %(n)s by payer mix") % {"n": line["apportioned"]}
            return text
        if line["kind"] == "compute":
            if line.get("amount") is None:
                return gettext("%(jobs)s compute jobs, %(hours)s GPU-hours: unpriced, no compute tariff for %(year)s "
                               "or earlier") % {"jobs": line["jobs"], "hours": line["gpu_hours"], "year": line["year"]}
            return gettext("%(jobs)s compute jobs, %(hours)s GPU-hours × %(price)s %(currency)s/GPU-hour "
                           "(%(year)s)") % {
                "jobs": line["jobs"], "hours": line["gpu_hours"],
                "price": f"{Decimal(line['price_per_gpu_hour']).normalize():f}", "currency": line["currency"],
                "year": line["tariff_year"]}
    except (KeyError, TypeError, ArithmeticError):
        pass
    return line.get("explanation", "")


def explained(line: dict) -> dict:
    """`line` with its stored `explanation`: describe_line's English, the frozen record."""
    with translation.override("en"):
        line["explanation"] = describe_line(line)
    return line


def compute_revenue(*, device: Device, start: date, end: date) -> dict:
    """The month's figures as RevenuePeriod fields. Procedures: completed ones ending in
    [start, end) without an open flag, per CPT × payer (the event's payer, else the device's
    payer mix, apportioned) × the fee schedule of the period's year (or the latest earlier).
    Compute: unflagged compute jobs ending in [start, end), GPU-hours × the compute tariff.
    Every line says how it was computed (`explanation`); lines without a price say why."""
    year = start.year
    lo, hi = _dt(start), _dt(end)
    open_flag = PlausibilityFlag.objects.filter(event=OuterRef("pk"), cleared_at=None)
    procs = TelemetryEvent.objects.filter(device=device, kind=EventKind.PROCEDURE, status="COMPLETED",
                                          occurred_at__gte=lo, occurred_at__lt=hi)
    flagged = procs.filter(Exists(open_flag)).count()
    counts: dict[tuple[str, str], list[int]] = {}  # (cpt, payer) -> [count, of which apportioned]
    mix = payer_mix(device=device)
    for row in (procs.exclude(Exists(open_flag)).values("cpt_code", "payer").annotate(n=Count("id"))
                .order_by("cpt_code", "payer")):
        if row["payer"]:
            counts.setdefault((row["cpt_code"], row["payer"]), [0, 0])[0] += row["n"]
            continue
        for payer, n in apportion(row["n"], mix).items():
            if n:
                c = counts.setdefault((row["cpt_code"], payer), [0, 0])
                c[0] += n
                c[1] += n
    tariffs = _tariffs()
    lines: list[dict] = []
    procedure_amount, count, unpriced, currencies = Decimal(0), 0, 0, set()
    for (cpt, payer), (n, apportioned) in sorted(counts.items()):
        count += n
        line = {"kind": "procedure", "cpt_code": cpt, "payer": payer, "year": year, "count": n,
                "apportioned": apportioned}
        tariff = _tariff_for(tariffs, cpt, payer, year) if cpt else None
        if tariff is None:
            unpriced += n
            reason = ("no CPT code reported" if not cpt
                      else f"no fee for CPT {cpt} from payer {payer} for {year} or earlier")
            line.update(fee=None, amount=None, currency=None, reason=reason)
            lines.append(explained(line))
            continue
        amount = quantize(tariff.technical_fee * n, tariff.currency)
        procedure_amount += amount
        currencies.add(tariff.currency)
        line.update(fee=str(tariff.technical_fee), amount=str(amount), currency=tariff.currency,
                    tariff_year=tariff.year)
        lines.append(explained(line))

    jobs = TelemetryEvent.objects.filter(device=device, kind=EventKind.COMPUTE_JOB, occurred_at__gte=lo,
                                         occurred_at__lt=hi)
    flagged_jobs = jobs.filter(Exists(open_flag)).count()
    agg = jobs.exclude(Exists(open_flag)).aggregate(n=Count("id"), s=Sum("gpu_seconds"))
    n_jobs, gpu_s = agg["n"], agg["s"] or Decimal(0)
    compute_amount = Decimal(0)
    if n_jobs:
        gpu_h = gpu_s / _HOUR
        line = {"kind": "compute", "year": year, "jobs": n_jobs, "gpu_seconds": str(gpu_s),
                "gpu_hours": str(gpu_h.quantize(Decimal("0.0001")))}
        ct = compute_tariff_for(year)
        if ct is None:
            reason = f"no compute tariff for {year} or earlier"
            line.update(price_per_gpu_hour=None, amount=None, currency=None, reason=reason)
        else:
            compute_amount = quantize(gpu_s * ct.price_per_gpu_hour / _HOUR, ct.currency)
            currencies.add(ct.currency)
            line.update(price_per_gpu_hour=str(ct.price_per_gpu_hour), amount=str(compute_amount),
                        currency=ct.currency, tariff_year=ct.year)
        lines.append(explained(line))
    if len(currencies) > 1:
        raise ApplicationError("mixed_currencies", gettext("The fee schedules for this device mix currencies."),
                               details={"currencies": sorted(currencies)})
    currency = currencies.pop() if currencies else getattr(settings, "TELEMETRY_CURRENCY", "USD")
    procedure_amount, compute_amount = quantize(procedure_amount, currency), quantize(compute_amount, currency)
    return {"procedures": count, "unpriced_procedures": unpriced, "excluded_flagged": flagged,
            "compute_jobs": n_jobs, "compute_gpu_seconds": gpu_s, "excluded_flagged_jobs": flagged_jobs,
            "procedure_amount": procedure_amount, "compute_amount": compute_amount,
            "amount": procedure_amount + compute_amount, "currency": currency, "lines": lines}


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
    kind: str = RevenuePeriodKind.REGULAR
    procedure_amount: Decimal = Decimal(0)
    compute_amount: Decimal = Decimal(0)
    compute_jobs: int = 0
    compute_gpu_seconds: Decimal = Decimal(0)
    excluded_flagged_jobs: int = 0
    adjusts_id: int | None = None
    reason: str = ""

    @property
    def status_label(self) -> str:
        """The status in the reader's language; a month not closed yet has no stored period."""
        if self.status == "open":
            return gettext("Open")
        return RevenuePeriodStatus(self.status).label

    @property
    def shown_lines(self) -> list[dict]:
        """The lines with explanations in the reader's language (the stored ones stay English)."""
        return [{**line, "explanation": describe_line(line)} for line in self.lines or []]

    @classmethod
    def of(cls, period: RevenuePeriod) -> RevenuePeriodView:
        return cls(period.period_start, period.period_end, period.status, period.procedures,
                   period.unpriced_procedures, period.excluded_flagged, period.amount, period.currency, period.lines,
                   period, period.kind, period.procedure_amount, period.compute_amount, period.compute_jobs,
                   period.compute_gpu_seconds, period.excluded_flagged_jobs, period.adjusts_id, period.reason)

    @classmethod
    def live(cls, start: date, end: date, figures: dict) -> RevenuePeriodView:
        return cls(start, end, "open", figures["procedures"], figures["unpriced_procedures"],
                   figures["excluded_flagged"], figures["amount"], figures["currency"], figures["lines"], None,
                   RevenuePeriodKind.REGULAR, figures["procedure_amount"], figures["compute_amount"],
                   figures["compute_jobs"], figures["compute_gpu_seconds"], figures["excluded_flagged_jobs"])


def tariff_list() -> QuerySet[Tariff]:
    return Tariff.objects.order_by("payer", "cpt_code", "-year")


def revenue_period_get_for_user(*, user, period_id) -> RevenuePeriod:
    period = RevenuePeriod.objects.select_related("device").filter(
        pk=period_id, device__in=devices_for_user(user=user)).first()
    if period is None:
        raise Http404("No such revenue period.")
    return period


def device_revenue_periods(*, device: Device) -> list[RevenuePeriodView]:
    """Monthly revenue, newest first: closed/settled months as frozen (each followed by its
    adjustment periods, oldest first), the others computed now (they change as flags are
    cleared or late events arrive)."""
    stored: dict[date, RevenuePeriod] = {}
    adjustments: dict[date, list[RevenuePeriod]] = {}
    for p in RevenuePeriod.objects.filter(device=device).order_by("period_start", "created_at", "pk"):
        if p.kind == RevenuePeriodKind.ADJUSTMENT:
            adjustments.setdefault(p.period_start, []).append(p)
        else:
            stored[p.period_start] = p
    first = (TelemetryEvent.objects.filter(device=device, kind__in=[EventKind.PROCEDURE, EventKind.COMPUTE_JOB])
             .order_by("occurred_at").first())
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
            out.append(RevenuePeriodView.of(p))
            out.extend(RevenuePeriodView.of(a) for a in adjustments.get(start, []))
            continue
        end = month_bounds(start)[1]
        out.append(RevenuePeriodView.live(start, end, compute_revenue(device=device, start=start, end=end)))
    return out


def daily_usage(*, device: Device, start: date, end: date) -> list[dict]:
    """Per UTC day in [start, end), oldest first, zero-filled, from DailyRollup in one query:
    day, procedures_completed, procedures_discontinued, gpu_hours (the scanner's own
    reconstruction work), compute_gpu_hours (compute jobs sold), online_hours (hours with
    a heartbeat). Hours are Decimal."""
    step = Decimal("0.001")
    return [{
        "day": day,
        "procedures_completed": r.procedures_completed if r else 0,
        "procedures_discontinued": r.procedures_discontinued if r else 0,
        "gpu_hours": (Decimal(r.gpu_seconds) / _HOUR).quantize(step) if r else Decimal("0.000"),
        "compute_gpu_hours": (Decimal(r.compute_gpu_seconds) / _HOUR).quantize(step) if r else Decimal("0.000"),
        "online_hours": Decimal(r.online_hours) if r else Decimal(0),
    } for day, r in _rollup_days(device=device, start=start, end=end)]

"""Incremental work on newly stored events: hourly/daily rollups and the plausibility rules
that need a device's history (throughput, overlap).

Reads the event table past a watermark (event id). Ids are allocated before commit, so a
batch committing late could carry an id below events already visible; only events
received more than `lag` seconds ago are taken, and never past the first younger one, so
nothing is skipped. Affected buckets are recomputed from the events (not incremented) and
upserted: running twice, or after a late or out-of-order event, gives the same rollups.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from assets.models import Device
from notifications.models import Category as NoticeCategory
from notifications.services import notify_organization
from telemetry.models import (
    DailyRollup,
    EventKind,
    FlagCode,
    HourlyRollup,
    PlausibilityFlag,
    TelemetryEvent,
    Watermark,
)

WATERMARK = "rollups"
# Completed exams per hour a modality can physically sustain. Typical use is far lower
# (CT ≈ 2.34/h, MRI ≈ 1.8/h: ../shared/DOMAIN.md, CDA-AMC); "a CT cannot complete 40 exams
# in an hour". Override with settings.TELEMETRY_MAX_PROCEDURES_PER_HOUR.
DEFAULT_MAX_PER_HOUR = {"CT": 12, "MR": 6, "US": 8, "DX": 40, "MG": 12, "PT": 4, "NM": 4, "OT": 20}


def max_per_hour(modality: str) -> int:
    limits = {**DEFAULT_MAX_PER_HOUR, **getattr(settings, "TELEMETRY_MAX_PROCEDURES_PER_HOUR", {})}
    return limits.get(modality, limits["OT"])


def _lag() -> timedelta:
    return timedelta(seconds=getattr(settings, "TELEMETRY_PROCESS_LAG_SECONDS", 30))


def process_new_events(*, lag: timedelta | None = None, limit: int = 100_000) -> dict:
    """Roll up and check events stored since the last run. Returns counts."""
    lag = _lag() if lag is None else lag
    with transaction.atomic():
        Watermark.objects.get_or_create(name=WATERMARK)
        wm = Watermark.objects.select_for_update().get(name=WATERMARK)
        cutoff = timezone.now() - lag
        newer = TelemetryEvent.objects.filter(id__gt=wm.last_event_id)
        young = newer.filter(received_at__gt=cutoff).aggregate(m=Min("id"))["m"]
        batch = newer.filter(received_at__lte=cutoff)
        if young is not None:
            batch = batch.filter(id__lt=young)
        rows = list(batch.order_by("id").values("id", "device_id", "kind", "occurred_at", "status")[:limit])
        if not rows:
            return {"events": 0, "days": 0, "flags": 0}
        days: dict[int, set] = defaultdict(set)
        new_procs: dict[int, list[int]] = defaultdict(list)
        new_jobs: dict[int, list[int]] = defaultdict(list)
        for r in rows:
            days[r["device_id"]].add(r["occurred_at"].astimezone(UTC).date())
            if r["kind"] == EventKind.PROCEDURE:
                new_procs[r["device_id"]].append(r["id"])
            elif r["kind"] == EventKind.COMPUTE_JOB:
                new_jobs[r["device_id"]].append(r["id"])
        n_days = 0
        for device_id, ds in days.items():
            for day in ds:
                _recompute_day(device_id, day)
                n_days += 1
        flags = 0
        for device_id, ids in new_procs.items():
            flags += _check_history(device_id, ids)
        for device_id in set(new_procs) | set(new_jobs):
            flags += _check_compute_overlap(device_id, new_procs.get(device_id, []), new_jobs.get(device_id, []))
        wm.last_event_id = rows[-1]["id"]
        wm.save(update_fields=["last_event_id", "updated_at"])
    return {"events": len(rows), "days": n_days, "flags": flags}


def _recompute_day(device_id: int, day) -> None:
    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    hours = list(
        TelemetryEvent.objects.filter(device_id=device_id, occurred_at__gte=lo, occurred_at__lt=lo + timedelta(days=1))
        .annotate(h=TruncHour("occurred_at", tzinfo=UTC)).values("h")
        .annotate(
            completed=Count("id", filter=Q(kind=EventKind.PROCEDURE, status="COMPLETED")),
            discontinued=Count("id", filter=Q(kind=EventKind.PROCEDURE, status="DISCONTINUED")),
            # gpu_seconds/energy: the scanner's own work; compute jobs are counted apart.
            gpu_s=Sum("gpu_seconds", filter=Q(kind=EventKind.PROCEDURE)),
            energy=Sum("gpu_energy_j", filter=Q(kind=EventKind.PROCEDURE)),
            compute_s=Sum("gpu_seconds", filter=Q(kind=EventKind.COMPUTE_JOB)),
            hb=Count("id", filter=Q(kind=EventKind.HEARTBEAT)),
        ).order_by("h")
    )
    hourly = [
        HourlyRollup(device_id=device_id, hour=h["h"], procedures_completed=h["completed"],
                     procedures_discontinued=h["discontinued"], gpu_seconds=h["gpu_s"] or 0,
                     gpu_energy_j=h["energy"] or 0, compute_gpu_seconds=h["compute_s"] or 0, heartbeats=h["hb"])
        for h in hours
    ]
    fields = ["procedures_completed", "procedures_discontinued", "gpu_seconds", "gpu_energy_j", "compute_gpu_seconds",
              "heartbeats"]
    HourlyRollup.objects.bulk_create(hourly, update_conflicts=True, unique_fields=["device", "hour"],
                                     update_fields=fields)
    daily = DailyRollup(
        device_id=device_id, day=day,
        procedures_completed=sum(h.procedures_completed for h in hourly),
        procedures_discontinued=sum(h.procedures_discontinued for h in hourly),
        gpu_seconds=sum((h.gpu_seconds for h in hourly), 0), gpu_energy_j=sum((h.gpu_energy_j for h in hourly), 0),
        compute_gpu_seconds=sum((h.compute_gpu_seconds for h in hourly), 0),
        heartbeats=sum(h.heartbeats for h in hourly), online_hours=sum(1 for h in hourly if h.heartbeats),
    )
    DailyRollup.objects.bulk_create([daily], update_conflicts=True, unique_fields=["device", "day"],
                                    update_fields=[*fields, "online_hours"])


def _check_history(device_id: int, new_ids: list[int]) -> int:
    """Throughput and overlap flags for the device's new procedures, against its history."""
    modality = Device.objects.filter(pk=device_id).values_list("modality", flat=True).first() or "OT"
    limit = max_per_hour(modality)
    new = {p["id"]: p for p in TelemetryEvent.objects.filter(id__in=new_ids)
           .values("id", "started_at", "ended_at", "status")}
    if not new:
        return 0
    lo = min(p["started_at"] for p in new.values()) - timedelta(days=1)
    hi = max(p["ended_at"] for p in new.values()) + timedelta(hours=1)
    history = list(TelemetryEvent.objects.filter(device_id=device_id, kind=EventKind.PROCEDURE,
                                                 started_at__gte=lo, started_at__lte=hi)
                   .values("id", "started_at", "ended_at", "status").order_by("started_at", "id"))
    flags: list[PlausibilityFlag] = []
    completed_ends = sorted(p["ended_at"] for p in history if p["status"] == "COMPLETED")
    for p in new.values():
        for q in history:
            if q["started_at"] >= p["ended_at"]:
                break
            # Each overlapping pair flags the event that arrived later (the higher id).
            if q["id"] < p["id"] and p["started_at"] < q["ended_at"]:
                flags.append(PlausibilityFlag(device_id=device_id, event_id=p["id"], code=FlagCode.OVERLAP,
                                              details={"other_event": q["id"], "other_started_at": str(q["started_at"]),
                                                       "other_ended_at": str(q["ended_at"])}))
                break
        if p["status"] == "COMPLETED":
            window = p["ended_at"] - timedelta(hours=1)
            n = sum(1 for e in completed_ends if window < e <= p["ended_at"])
            if n > limit:
                flags.append(PlausibilityFlag(device_id=device_id, event_id=p["id"], code=FlagCode.THROUGHPUT,
                                              details={"completed_in_hour": n, "max_per_hour": limit,
                                                       "modality": modality}))
    if flags:
        PlausibilityFlag.objects.bulk_create(flags, ignore_conflicts=True)
        _tell_clinic(device_id, flags)
    return len(flags)


def _check_compute_overlap(device_id: int, new_proc_ids: list[int], new_job_ids: list[int]) -> int:
    """OVERLAP flags on compute jobs: a job sells the GPU's idle time, so one that overlaps a
    procedure on the device (whichever arrived first), or another job on the same GPU, is doubtful.
    The compute job carries the flag (procedures keep their own overlap rule)."""
    fields = ("id", "kind", "started_at", "ended_at", "gpu_index")
    new = list(TelemetryEvent.objects.filter(id__in=[*new_proc_ids, *new_job_ids]).values(*fields))
    if not new:
        return 0
    lo = min(e["started_at"] for e in new)
    hi = max(e["ended_at"] for e in new)
    nearby = list(TelemetryEvent.objects.filter(
        device_id=device_id, kind__in=[EventKind.PROCEDURE, EventKind.COMPUTE_JOB],
        started_at__lt=hi, ended_at__gt=lo).values(*fields))
    new_ids = {e["id"] for e in new}
    flags: dict[int, PlausibilityFlag] = {}
    for a in new:
        for b in nearby:
            if b["id"] == a["id"] or not (a["started_at"] < b["ended_at"] and b["started_at"] < a["ended_at"]):
                continue
            kinds = {a["kind"], b["kind"]}
            if kinds == {EventKind.PROCEDURE}:
                continue
            if kinds == {EventKind.COMPUTE_JOB}:
                if a["gpu_index"] != b["gpu_index"]:
                    continue
                # Two jobs on one GPU: flag the later arrival only (the first sold the time).
                job = max(a, b, key=lambda e: e["id"])
                other = min(a, b, key=lambda e: e["id"])
                if job["id"] not in new_ids:
                    continue
            else:
                job, other = (a, b) if a["kind"] == EventKind.COMPUTE_JOB else (b, a)
            flags.setdefault(job["id"], PlausibilityFlag(
                device_id=device_id, event_id=job["id"], code=FlagCode.OVERLAP,
                details={"other_event": other["id"], "other_kind": other["kind"],
                         "other_started_at": str(other["started_at"]), "other_ended_at": str(other["ended_at"])}))
    if flags:
        PlausibilityFlag.objects.bulk_create(list(flags.values()), ignore_conflicts=True)
        _tell_clinic(device_id, list(flags.values()))
    return len(flags)


def _tell_clinic(device_id: int, flags: list[PlausibilityFlag]) -> None:
    """The clinic's admins hear once per batch of flags (keyed by its first flag, unique per event and code)."""
    device = Device.objects.get(pk=device_id)
    notify_organization(organization_id=device.organization_id, category=NoticeCategory.DEVICES,
                        event_key=f"telemetry.flag:{flags[0].event_id}:{flags[0].code}",
                        title=format_lazy(gettext_lazy("Usage of {device} was flagged for review"), device=str(device)),
                        body=format_lazy(gettext_lazy("{count} event(s) look implausible ({codes}). They are kept out "
                                                      "of revenue until a platform admin reviews them."),
                                         count=len(flags), codes=", ".join(sorted({f.code for f in flags}))),
                        url=f"/telemetry/devices/{device_id}/")

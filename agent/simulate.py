"""Realistic synthetic usage for a CT or MRI scanner, fed to the same spool and uploader.

One scanner does one exam at a time: each exam starts after the previous one ended plus a
turnover gap (>= 2-3 min), inside the day's operating window, so procedures never overlap.
Rates follow published utilization figures: CT ≈ 2.34 exams/hour over ≈ 14 h/day,
MRI ≈ 1.8 exams/hour over ≈ 15.3 h/day. Reconstruction runs on a 250-400 W GPU at the end
of each exam: gpu_energy_j = gpu_seconds × power, and the heartbeats' energy counter
integrates exactly that plus idle draw. About 1.5 % of exams are DISCONTINUED; an
equipment failure (110501) is followed by downtime. A CT also sells its idle GPU: 2-4
compute jobs (20-40 min, 220-330 W, GPU 0) each evening after closing, never overlapping
an exam, integrated into the same energy counter.

Randomness is seeded (`seed`) and is not security-relevant.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from agent.events import EQUIPMENT_FAILURE, format_ts, parse_ts
from agent.spool import Spool

log = logging.getLogger("medrwa.agent.simulate")

STATE_KEY = "simulate_state"
GIB = 1024**3


@dataclass(frozen=True)
class Exam:
    cpt: str
    weight: float
    minutes: tuple[float, float, float, float]  # mean, sd, min, max
    series: tuple[int, int]
    images: tuple[int, int]
    gpu_s: tuple[int, int]
    ctdivol: tuple[float, float] | None = None  # mGy
    scan_cm: tuple[float, float] | None = None  # scan length, DLP = CTDIvol × length


@dataclass(frozen=True)
class Profile:
    modality: str
    rate_per_hour: float
    hours_per_day: float
    opens_at_h: float
    min_gap_min: float
    exams: tuple[Exam, ...]
    station_ae: str
    idle_power_w: tuple[float, float] = (55.0, 70.0)
    recon_power_w: tuple[float, float] = (250.0, 400.0)
    mem_total_bytes: int = 48 * GIB
    # Compute jobs sold on the idle GPU after closing time (count per day, minutes each).
    compute_jobs_per_day: tuple[int, int] = (0, 0)
    compute_job_min: tuple[float, float] = (20.0, 40.0)
    compute_power_w: tuple[float, float] = (220.0, 330.0)

    @property
    def mean_exam_min(self) -> float:
        total = sum(e.weight for e in self.exams)
        return sum(e.weight * e.minutes[0] for e in self.exams) / total

    @property
    def mean_gap_min(self) -> float:
        return max(self.min_gap_min + 0.5, 60.0 / self.rate_per_hour - self.mean_exam_min)


CT = Profile(
    modality="CT",
    rate_per_hour=2.34,
    hours_per_day=14.0,
    opens_at_h=7.0,
    min_gap_min=3.0,
    station_ae="CT01",
    compute_jobs_per_day=(2, 4),
    exams=(
        Exam("74177", 0.30, (15, 4, 8, 30), (3, 6), (600, 1500), (60, 180), (8, 18), (40, 65)),
        Exam("71250", 0.22, (10, 3, 6, 20), (2, 4), (300, 800), (30, 90), (5, 12), (30, 40)),
        Exam("70450", 0.25, (8, 2, 5, 15), (2, 3), (150, 400), (20, 60), (40, 60), (15, 20)),
        Exam("74176", 0.13, (11, 3, 6, 20), (2, 4), (400, 1000), (40, 120), (8, 15), (40, 60)),
        Exam("71275", 0.10, (18, 5, 10, 35), (3, 6), (800, 2000), (90, 240), (8, 20), (30, 40)),
    ),
)
MR = Profile(
    modality="MR",
    rate_per_hour=1.8,
    hours_per_day=15.3,
    opens_at_h=6.5,
    min_gap_min=2.0,
    station_ae="MR01",
    exams=(
        Exam("70553", 0.30, (35, 7, 20, 60), (8, 14), (300, 1200), (120, 300)),
        Exam("70551", 0.12, (25, 5, 15, 45), (5, 9), (200, 700), (80, 200)),
        Exam("72148", 0.22, (25, 5, 15, 45), (5, 8), (150, 500), (80, 200)),
        Exam("73721", 0.20, (25, 5, 15, 40), (5, 8), (150, 500), (60, 180)),
        Exam("72141", 0.08, (25, 5, 15, 45), (5, 8), (150, 450), (60, 180)),
        Exam("74183", 0.08, (45, 8, 30, 70), (10, 16), (500, 1500), (150, 360)),
    ),
)
PROFILES = {"CT": CT, "MR": MR, "MRI": MR}
DISCONTINUE_P = 0.015
DISCONTINUE_REASONS = ((EQUIPMENT_FAILURE, 0.6), ("110505", 0.25), ("110515", 0.15))


@dataclass(frozen=True)
class SimEvent:
    kind: str
    at: datetime
    data: dict[str, Any]
    idempotency_key: str | None = None  # None: heartbeat, keyed hb-<device>-<seq>


@dataclass
class SimState:
    last_t: datetime | None = None  # nothing is generated at or before this instant
    energy_j: Decimal = Decimal("3600000")  # GPU counter (J) at last_t
    boot_at: datetime | None = None

    def dumps(self) -> str:
        return json.dumps(
            {
                "last_t": format_ts(self.last_t) if self.last_t else None,
                "energy_j": str(self.energy_j),
                "boot_at": format_ts(self.boot_at) if self.boot_at else None,
            }
        )

    @classmethod
    def loads(cls, text: str | None) -> SimState:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(
            last_t=parse_ts(raw["last_t"]) if raw.get("last_t") else None,
            energy_j=Decimal(raw.get("energy_j") or "3600000"),
            boot_at=parse_ts(raw["boot_at"]) if raw.get("boot_at") else None,
        )


@dataclass
class _Recon:
    start: datetime
    end: datetime
    power_w: Decimal
    mem_bytes: int


@dataclass
class Simulator:
    profile: Profile
    seed: int | None = None
    tz: tzinfo = UTC
    heartbeat_every_s: int = 300
    state: SimState = field(default_factory=SimState)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 - synthetic data, not security
        # Compute jobs draw from their own stream: the exams of a seed stay what they were.
        self.job_rng = random.Random(None if self.seed is None else f"{self.seed}-compute")  # noqa: S311
        self._idle_w = Decimal(str(round(self.rng.uniform(*self.profile.idle_power_w), 1)))

    # -- building blocks ------------------------------------------------------------------

    def _uid(self) -> str:
        return f"2.25.{self.rng.getrandbits(120)}"

    def _pick_exam(self) -> Exam:
        exams = self.profile.exams
        return self.rng.choices(exams, weights=[e.weight for e in exams])[0]

    def _minutes(self, exam: Exam) -> float:
        mean, sd, lo, hi = exam.minutes
        return min(hi, max(lo, self.rng.gauss(mean, sd)))

    def _gap_min(self) -> float:
        p = self.profile
        return p.min_gap_min + self.rng.expovariate(1.0 / (p.mean_gap_min - p.min_gap_min))

    def _day_procedures(
        self, day_open: datetime, day_close: datetime, not_before: datetime
    ) -> tuple[list[SimEvent], list[_Recon]]:
        events: list[SimEvent] = []
        recons: list[_Recon] = []
        cursor = max(day_open, not_before)
        # The first patient of the day does not arrive at the exact opening second.
        cursor += timedelta(minutes=self.rng.uniform(0, self.profile.mean_gap_min))
        while True:
            exam = self._pick_exam()
            planned = timedelta(minutes=self._minutes(exam))
            start = cursor.replace(microsecond=0)
            status, reason, fraction = "COMPLETED", None, 1.0
            if self.rng.random() < DISCONTINUE_P:
                status = "DISCONTINUED"
                reason = self.rng.choices(
                    [r for r, _ in DISCONTINUE_REASONS], weights=[w for _, w in DISCONTINUE_REASONS]
                )[0]
                fraction = self.rng.uniform(0.2, 0.8)
            end = (start + planned * fraction).replace(microsecond=0)
            if end <= start:
                end = start + timedelta(seconds=60)
            if end > day_close:
                break
            duration_s = (end - start).total_seconds()
            series = max(1, round(self.rng.randint(*exam.series) * fraction))
            images = max(series, round(self.rng.randint(*exam.images) * fraction))
            gpu_s = Decimal(str(round(min(self.rng.uniform(*exam.gpu_s) * fraction, 0.8 * duration_s), 1)))
            power = Decimal(str(round(self.rng.uniform(*self.profile.recon_power_w), 1)))
            energy = (gpu_s * power).quantize(Decimal("0.1"))
            data: dict[str, Any] = {
                "modality": self.profile.modality,
                "cpt_code": exam.cpt,
                "status": status,
                "reason_code": reason,
                "started_at": format_ts(start),
                "ended_at": format_ts(end),
                "series_count": series,
                "image_count": images,
                "dlp_mgycm": None,
                "ctdivol_mgy": None,
                "gpu_seconds": gpu_s,
                "gpu_energy_j": energy,
                "station_ae": self.profile.station_ae,
            }
            if exam.ctdivol and exam.scan_cm:
                ctdi = Decimal(str(round(self.rng.uniform(*exam.ctdivol), 1)))
                length = Decimal(str(round(self.rng.uniform(*exam.scan_cm) * fraction, 1)))
                data["ctdivol_mgy"] = ctdi
                data["dlp_mgycm"] = (ctdi * length).quantize(Decimal("0.1"))
            events.append(SimEvent("procedure", end, data, self._uid()))
            recon_start = end - timedelta(seconds=float(gpu_s))
            recons.append(_Recon(recon_start, end, power, int(self.rng.uniform(12, 30) * GIB)))
            cursor = end + timedelta(minutes=self._gap_min())
            if reason == EQUIPMENT_FAILURE:
                cursor += timedelta(minutes=self.rng.uniform(45, 180))  # service call
        return events, recons

    def _day_compute_jobs(self, after: datetime, before: datetime) -> tuple[list[SimEvent], list[_Recon]]:
        """A few compute jobs on GPU 0 while the scanner is closed, one after another."""
        p = self.profile
        lo, hi = p.compute_jobs_per_day
        n = self.job_rng.randint(lo, hi) if hi else 0
        events: list[SimEvent] = []
        recons: list[_Recon] = []
        cursor = after + timedelta(minutes=self.job_rng.uniform(10, 20))
        for _ in range(n):
            start = cursor.replace(microsecond=0)
            end = start + timedelta(minutes=round(self.job_rng.uniform(*p.compute_job_min)))
            if end > before:
                break
            seconds = Decimal(int((end - start).total_seconds()))
            power = Decimal(str(round(self.job_rng.uniform(*p.compute_power_w), 1)))
            job_id = f"job-{self.job_rng.getrandbits(64):016x}"
            events.append(SimEvent("compute_job", end, {
                "job_id": job_id, "started_at": format_ts(start), "ended_at": format_ts(end), "gpu_index": 0,
                "gpu_seconds": seconds, "gpu_energy_j": (seconds * power).quantize(Decimal("0.1")),
            }, job_id))
            recons.append(_Recon(start, end, power, int(self.job_rng.uniform(16, 40) * GIB)))
            cursor = end + timedelta(minutes=self.job_rng.uniform(5, 15))
        return events, recons

    def _heartbeats(self, start: datetime, end: datetime, recons: list[_Recon]) -> list[SimEvent]:
        step = timedelta(seconds=self.heartbeat_every_s)
        # Heartbeats sit on a fixed grid so restarts and runs continue it seamlessly.
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        n = int((start - epoch) / step) + 1
        t = epoch + n * step
        out: list[SimEvent] = []
        while t <= end:
            active = next((r for r in recons if r.start <= t <= r.end), None)
            if active is not None:
                util = self.rng.randint(85, 99)
                power = active.power_w
                mem = active.mem_bytes
            else:
                util = self.rng.randint(0, 3)
                power = self._idle_w + Decimal(str(round(self.rng.uniform(-2, 2), 1)))
                mem = int(1.5 * GIB)
            boot = self.state.boot_at or t
            out.append(
                SimEvent(
                    "heartbeat",
                    t,
                    {
                        "uptime_s": int((t - boot).total_seconds()),
                        "gpu_util_pct": util,
                        "gpu_power_w": power,
                        "gpu_temp_c": 34 + util * 35 // 100 + self.rng.randint(0, 3),
                        "gpu_mem_used_bytes": mem,
                        "gpu_mem_total_bytes": self.profile.mem_total_bytes,
                        "gpu_energy_total_j": None,  # filled in order, below
                        "xid_errors": 0,
                        "ecc_errors": 0,
                    },
                )
            )
            t += step
        return out

    def _energy_between(self, a: datetime, b: datetime, recons: list[_Recon]) -> Decimal:
        seconds = Decimal(str((b - a).total_seconds()))
        energy = self._idle_w * seconds
        for r in recons:
            lo, hi = max(a, r.start), min(b, r.end)
            if hi > lo:
                energy += (r.power_w - self._idle_w) * Decimal(str((hi - lo).total_seconds()))
        return energy

    # -- public --------------------------------------------------------------------------

    def events(self, start: datetime, end: datetime | None = None) -> Iterator[SimEvent]:
        """Events with start < at <= end (end None: endless), in time order. Continues
        after `state.last_t` so repeated runs never overlap earlier ones."""
        if self.state.last_t is not None and self.state.last_t > start:
            start = self.state.last_t
        if self.state.boot_at is None:
            self.state.boot_at = start - timedelta(days=3)
        if self.state.last_t is None:
            self.state.last_t = start
        local_day = start.astimezone(self.tz).date() - timedelta(days=1)
        while end is None or datetime.combine(local_day, datetime.min.time(), self.tz) < end:
            midnight = datetime.combine(local_day, datetime.min.time(), self.tz)
            day_open = midnight + timedelta(hours=self.profile.opens_at_h)
            day_close = day_open + timedelta(hours=self.profile.hours_per_day)
            next_midnight = datetime.combine(local_day + timedelta(days=1), datetime.min.time(), self.tz)
            window_end = next_midnight if end is None else min(next_midnight, end)
            procs, recons = ([], []) if day_close <= start else self._day_procedures(day_open, day_close, start)
            jobs, job_recons = self._day_compute_jobs(day_close, next_midnight - timedelta(minutes=5))
            recons = recons + job_recons
            procs = [p for p in procs + jobs
                     if start < p.at <= window_end and parse_ts(p.data["started_at"]) >= start]
            lo = max(start, midnight)
            beats = self._heartbeats(lo, window_end, recons) if window_end > lo else []
            merged = sorted(procs + beats, key=lambda e: (e.at, e.kind != "procedure"))
            for ev in merged:
                if ev.kind == "heartbeat":
                    self.state.energy_j += self._energy_between(self.state.last_t, ev.at, recons)
                    ev.data["gpu_energy_total_j"] = self.state.energy_j.quantize(Decimal("0.1"))
                    self.state.last_t = ev.at
                yield ev
            if window_end > self.state.last_t:
                self.state.energy_j += self._energy_between(self.state.last_t, window_end, recons)
                self.state.last_t = window_end
            local_day += timedelta(days=1)


def generate(
    modality: str,
    start: datetime,
    end: datetime,
    *,
    seed: int | None = None,
    tz: tzinfo = UTC,
    heartbeat_every_s: int = 300,
) -> list[SimEvent]:
    """All simulated events in (start, end], time-ordered."""
    sim = Simulator(PROFILES[modality.upper()], seed=seed, tz=tz, heartbeat_every_s=heartbeat_every_s)
    return list(sim.events(start, end))


def spool_event(spool: Spool, ev: SimEvent, *, device_id: str) -> int:
    key: str | Callable[[int], str] = ev.idempotency_key or (lambda seq: f"hb-{device_id}-{seq}")
    return spool.append(kind=ev.kind, data=ev.data, occurred_at=ev.at, idempotency_key=key)


def backfill(
    spool: Spool,
    *,
    modality: str,
    days: float,
    device_id: str,
    seed: int | None = None,
    tz: tzinfo = UTC,
    heartbeat_every_s: int = 300,
    now: datetime | None = None,
) -> dict[str, int]:
    """Spool `days` of history ending now (continuing after any earlier simulation)."""
    now = now or datetime.now(UTC)
    sim = Simulator(
        PROFILES[modality.upper()],
        seed=seed,
        tz=tz,
        heartbeat_every_s=heartbeat_every_s,
        state=SimState.loads(spool.get_meta(STATE_KEY)),
    )
    counts = {"procedure": 0, "heartbeat": 0, "compute_job": 0}
    batch: list[SimEvent] = []
    for ev in sim.events(now - timedelta(days=days), now):
        batch.append(ev)
        counts[ev.kind] += 1
        if len(batch) >= 1000:
            _flush(spool, batch, sim, device_id)
    _flush(spool, batch, sim, device_id)
    return counts


def _flush(spool: Spool, batch: list[SimEvent], sim: Simulator, device_id: str) -> None:
    with spool.transaction():
        for ev in batch:
            spool_event(spool, ev, device_id=device_id)
        spool.set_meta(STATE_KEY, sim.state.dumps())
    batch.clear()


def realtime(
    spool: Spool,
    *,
    modality: str,
    device_id: str,
    speed: float = 1.0,
    days: float | None = None,
    seed: int | None = None,
    tz: tzinfo = UTC,
    heartbeat_every_s: int = 300,
    stop: threading.Event | None = None,
    on_event: Callable[[SimEvent, int], None] | None = None,
) -> int:
    """Emit events as simulated time passes, `speed` times faster than real time.

    Simulated time never runs ahead of the real clock: with speed > 1 it replays the last
    `days` (required) so that it reaches 'now' exactly when the run ends."""
    stop = stop or threading.Event()
    if speed <= 0:
        raise ValueError("speed must be > 0")
    if speed != 1 and days is None:
        raise ValueError("with a speed-up, give --days: the replay must end at 'now'")
    real0 = datetime.now(UTC)
    span = timedelta(days=days) if days is not None else None
    sim_start = real0 - span if (span is not None and speed != 1) else real0
    sim_end = sim_start + span if span is not None else None
    sim = Simulator(
        PROFILES[modality.upper()],
        seed=seed,
        tz=tz,
        heartbeat_every_s=heartbeat_every_s,
        state=SimState.loads(spool.get_meta(STATE_KEY)),
    )
    mono0 = time.monotonic()
    emitted = 0
    for ev in sim.events(sim_start, sim_end):
        wait_real = (ev.at - sim_start).total_seconds() / speed - (time.monotonic() - mono0)
        if wait_real > 0 and stop.wait(wait_real):
            break
        with spool.transaction():
            seq = spool_event(spool, ev, device_id=device_id)
            spool.set_meta(STATE_KEY, sim.state.dumps())
        emitted += 1
        if on_event is not None:
            on_event(ev, seq)
        if stop.is_set():
            break
    return emitted

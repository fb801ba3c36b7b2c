"""Compute jobs on the agent: GPU seconds = the job's wall time on its GPU, energy = the
NVML counter's advance (reset-aware), spooled as a `compute_job` keyed by job_id."""

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from agent import cli
from agent.compute import job_data, measure, spool_job
from agent.events import EventError, normalize_data
from agent.fakenvml import ManualClock, SimulatedNvml
from agent.gpu import GpuSample, NvmlSource, job_usage
from agent.simulate import CT, MR, generate
from agent.spool import Spool


def _sample(t, energy_mj):
    return GpuSample(t=t, power_mw=None, energy_mj=energy_mj, util_pct=None, temp_c=None, mem_used_bytes=None,
                     mem_total_bytes=None, ecc_uncorrected=None)


def test_job_usage_is_wall_time_and_counter_difference():
    samples = [_sample(0, 1_000_000), _sample(300, 91_000_000), _sample(600, 181_000_000)]
    u = job_usage(samples, 0, 600)
    assert (u.gpu_seconds, u.energy_j, u.samples) == (Decimal("600.0"), Decimal("180000.0"), 2)
    # A job that starts mid-interval gets the pro-rated part of it.
    assert job_usage(samples, 150, 600).energy_j == Decimal("135000.0")


def test_job_usage_survives_a_driver_reload_mid_job():
    # 300 W; the counter restarts at 0 at t=400 and reads 60 kJ (200 s × 300 W) at t=600.
    samples = [_sample(0, 5_000_000), _sample(300, 95_000_000), _sample(600, 60_000_000)]
    u = job_usage(samples, 0, 600)
    # Only the interval with the reload loses its pre-reload part: never more than the job used.
    assert u.energy_j == Decimal("150000.0") and u.energy_j <= Decimal(600 * 300)


def test_measure_reads_the_gpu_around_the_work():
    clock = ManualClock()
    nv = SimulatedNvml(clock=clock, idle_power_w=60)
    src = NvmlSource(nvml=nv, clock=clock).open()

    def work():
        nv.set_load(util_pct=97, power_w=300)
        clock.advance(900)
        nv.set_load(util_pct=0)
        return 0

    rc, data = measure(src, work, job_id="job-42", interval_s=0.01)
    assert rc == 0
    assert (data["job_id"], data["gpu_index"], data["gpu_seconds"], data["gpu_energy_j"]) == (
        "job-42", 0, Decimal("900.0"), Decimal("270000.0"))
    span = datetime.fromisoformat(data["ended_at"].replace("Z", "+00:00")) - datetime.fromisoformat(
        data["started_at"].replace("Z", "+00:00"))
    assert span >= timedelta(seconds=900)


def test_compute_job_events_are_checked_and_spooled_once_by_job_id(tmp_path):
    base = {"job_id": "job-1", "started_at": "2026-11-01T21:10:00Z", "ended_at": "2026-11-01T21:40:00Z",
            "gpu_index": 0, "gpu_seconds": Decimal("1800"), "gpu_energy_j": Decimal("540000")}
    assert normalize_data("compute_job", base)["gpu_seconds"] == "1800.0"  # decimal strings on the wire
    with pytest.raises(EventError):
        normalize_data("compute_job", {**base, "ended_at": base["started_at"]})
    with pytest.raises(EventError):
        normalize_data("compute_job", {k: v for k, v in base.items() if k != "gpu_energy_j"})
    with Spool(tmp_path / "s.db") as spool:
        seq = spool_job(spool, base)
        assert spool_job(spool, base) == seq  # re-reporting the same job never sells it twice
        [ev] = spool.pending(10)
        assert (ev.kind, ev.idempotency_key, ev.occurred_at) == ("compute_job", "job-1", "2026-11-01T21:40:00Z")


def test_job_data_covers_sub_second_edges():
    from agent.gpu import Usage

    data = job_data(job_id="j", start=100.9, end=101.2, gpu_index=1, usage=Usage(Decimal("0.3"), Decimal("90"), 1))
    assert (data["started_at"], data["ended_at"]) == ("1970-01-01T00:01:40Z", "1970-01-01T00:01:42Z")


def test_simulated_ct_sells_a_few_idle_compute_jobs_per_day_outside_exams():
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    events = generate("CT", now - timedelta(days=3), now, seed=5, heartbeat_every_s=900)
    jobs = [e for e in events if e.kind == "compute_job"]
    procs = [e for e in events if e.kind == "procedure"]
    assert 3 * CT.compute_jobs_per_day[0] - 2 <= len(jobs) <= 3 * CT.compute_jobs_per_day[1]
    spans = [(e.data["started_at"], e.data["ended_at"]) for e in procs]
    for j in jobs:
        d = j.data
        assert j.idempotency_key == d["job_id"] and d["gpu_index"] == 0
        assert 220 * d["gpu_seconds"] - 1 <= d["gpu_energy_j"] <= 330 * d["gpu_seconds"] + 1
        assert all(not (d["started_at"] < e and s < d["ended_at"]) for s, e in spans), "job overlaps an exam"
    assert MR.compute_jobs_per_day == (0, 0)
    assert not [e for e in generate("MR", now - timedelta(days=2), now, seed=5) if e.kind == "compute_job"]
    # The exams of a seed are what they were before compute jobs existed (separate random stream).
    again = [e.data for e in generate("CT", now - timedelta(days=3), now, seed=5, heartbeat_every_s=900)
             if e.kind == "procedure"]
    assert again == [e.data for e in procs]


def test_cli_compute_runs_the_command_and_spools_the_measured_job(tmp_path, monkeypatch):
    for var in ("MEDRWA_AGENT_URL", "MEDRWA_AGENT_KEY_ID", "MEDRWA_AGENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    nv = SimulatedNvml(idle_power_w=250)
    args = cli._parser().parse_args(["compute", "--spool", str(tmp_path / "s.db"), "--job-id", "job-cli",
                                     "--interval", "0.05", "--no-upload", "--",
                                     sys.executable, "-c", "import time; time.sleep(0.3)"])
    assert cli.cmd_compute(args, nvml=nv) == 0
    with Spool(tmp_path / "s.db") as spool:
        [ev] = spool.pending(10)
    assert ev.kind == "compute_job" and ev.data["job_id"] == "job-cli"
    seconds, energy = Decimal(ev.data["gpu_seconds"]), Decimal(ev.data["gpu_energy_j"])
    assert Decimal("0.2") <= seconds <= Decimal("5") and energy > 0
    failing = cli._parser().parse_args(["compute", "--spool", str(tmp_path / "f.db"), "--no-upload", "--",
                                        sys.executable, "-c", "raise SystemExit(3)"])
    assert cli.cmd_compute(failing, nvml=SimulatedNvml()) == 3  # a failed job is not sold
    with Spool(tmp_path / "f.db") as spool:
        assert spool.pending(10) == []

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.events import parse_ts
from agent.simulate import CT, MR, PROFILES, backfill, generate
from agent.spool import Spool

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def check_plausible(events, modality, end):
    procs = [e for e in events if e.kind == "procedure"]
    prev_end = None
    for e in sorted(procs, key=lambda e: e.data["started_at"]):
        d = e.data
        start, stop = parse_ts(d["started_at"]), parse_ts(d["ended_at"])
        assert start < stop <= end
        assert prev_end is None or start >= prev_end, "overlapping procedures"
        prev_end = stop
        duration = Decimal((stop - start).total_seconds())
        gpu_s, energy = Decimal(d["gpu_seconds"]), Decimal(d["gpu_energy_j"])
        assert 0 < gpu_s <= duration
        assert 250 * gpu_s - 1 <= energy <= 400 * gpu_s + 1
        assert d["modality"] == modality
        assert d["series_count"] >= 1 and d["image_count"] >= d["series_count"]
        if d["status"] == "DISCONTINUED":
            assert d["reason_code"]
        else:
            assert d["reason_code"] is None
        if modality == "CT":
            assert d["dlp_mgycm"] > 0 and d["ctdivol_mgy"] > 0
    # at most a handful of exams start in any hour
    cap = {"CT": 8, "MR": 4}[modality]
    starts = sorted(parse_ts(e.data["started_at"]) for e in procs)
    for i, s in enumerate(starts):
        assert sum(1 for t in starts[i : i + cap + 1] if t < s + timedelta(hours=1)) <= cap
    # events come in time order; the energy counter never goes backwards
    times = [e.at for e in events]
    assert times == sorted(times)
    counters = [e.data["gpu_energy_total_j"] for e in events if e.kind == "heartbeat"]
    assert counters == sorted(counters)
    return procs


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    modality=st.sampled_from(["CT", "MR"]),
    days=st.integers(1, 4),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
)
def test_generated_days_are_plausible(seed, modality, days, tz):
    events = generate(modality, NOW - timedelta(days=days), NOW, seed=seed, tz=ZoneInfo(tz), heartbeat_every_s=900)
    check_plausible(events, modality, NOW)


def test_throughput_matches_published_rates():
    for profile, modality in ((CT, "CT"), (MR, "MR")):
        events = generate(modality, NOW - timedelta(days=30), NOW, seed=7, heartbeat_every_s=3600)
        procs = check_plausible(events, modality, NOW)
        per_day = len(procs) / 30
        expected = profile.rate_per_hour * profile.hours_per_day
        assert 0.8 * expected <= per_day <= 1.1 * expected, (modality, per_day, expected)
        codes = Counter(p.data["cpt_code"] for p in procs)
        assert {"CT": "74177", "MR": "70553"}[modality] in codes
        statuses = Counter(p.data["status"] for p in procs)
        assert statuses["DISCONTINUED"] < 0.05 * len(procs)


def test_equipment_failure_occurs_and_is_followed_by_downtime():
    events = generate("CT", NOW - timedelta(days=120), NOW, seed=3, heartbeat_every_s=86400)
    procs = [e for e in events if e.kind == "procedure"]
    failures = [i for i, p in enumerate(procs) if p.data["reason_code"] == "110501"]
    assert failures
    for i in failures:
        if i + 1 < len(procs):
            gap = parse_ts(procs[i + 1].data["started_at"]) - parse_ts(procs[i].data["ended_at"])
            assert (
                gap >= timedelta(minutes=45) or procs[i + 1].data["started_at"][:10] != (procs[i].data["ended_at"][:10])
            )


def test_backfill_twice_never_overlaps(tmp_path):
    with Spool(tmp_path / "s.db") as spool:
        first = backfill(spool, modality="MR", days=2, device_id="MR01", seed=1, heartbeat_every_s=900, now=NOW)
        second = backfill(
            spool, modality="MR", days=3, device_id="MR01", seed=2, heartbeat_every_s=900, now=NOW + timedelta(days=1)
        )
        assert first["procedure"] > 30 and second["procedure"] > 10
        events = spool.pending(10_000)
        procs = sorted((e for e in events if e.kind == "procedure"), key=lambda e: e.data["started_at"])
        for a, b in pairwise(procs):
            assert a.data["ended_at"] <= b.data["started_at"]
        counters = [Decimal(e.data["gpu_energy_total_j"]) for e in events if e.kind == "heartbeat"]
        assert counters == sorted(counters)
        assert [e.seq for e in events] == sorted(e.seq for e in events)
        assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)


def test_profiles():
    assert set(PROFILES) >= {"CT", "MR"}
    assert abs(60 / (CT.mean_exam_min + CT.mean_gap_min) - 2.34) < 0.01

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from telemetry.ingest import ingest_batch
from telemetry.models import DailyRollup, FlagCode, HourlyRollup, PlausibilityFlag
from telemetry.processing import process_new_events
from tests.fixtures.telemetry import heartbeat, procedure

pytestmark = pytest.mark.django_db
NOW = timedelta(0)


def _day(n_days_ago=1):
    return (datetime.now(UTC) - timedelta(days=n_days_ago)).replace(hour=10, minute=0, second=0, microsecond=0)


def test_rollups_count_the_day_and_are_idempotent_with_late_events(telemetry_credential):
    cred = telemetry_credential.credential
    day = _day(2)
    ingest_batch(credential=cred, events=[
        procedure(1, end=day, gpu_s="100.0", energy="30000.0"),
        procedure(2, end=day + timedelta(minutes=30), gpu_s="50.0", energy="15000.0"),
        procedure(3, end=day + timedelta(hours=2), status="DISCONTINUED", reason="110501"),
        heartbeat(4, at=day), heartbeat(5, at=day + timedelta(hours=5)),
    ])
    assert process_new_events(lag=NOW)["events"] == 5
    daily = DailyRollup.objects.get(day=day.date())
    assert (daily.procedures_completed, daily.procedures_discontinued, daily.heartbeats, daily.online_hours) == \
        (2, 1, 2, 2)
    assert daily.gpu_seconds == Decimal("245.5")  # 100 + 50 + 95.5 (the discontinued one's reconstruction)
    assert HourlyRollup.objects.get(hour=day).procedures_completed == 2

    # Running again changes nothing.
    assert process_new_events(lag=NOW)["events"] == 0
    assert DailyRollup.objects.get(day=day.date()).procedures_completed == 2

    # A late, out-of-order event for that day (arriving after a newer one) is folded in.
    newer = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    ingest_batch(credential=cred, events=[procedure(6, end=newer),
                                          procedure(7, end=day + timedelta(hours=3), gpu_s="10.0", energy="3000.0")])
    process_new_events(lag=NOW)
    daily.refresh_from_db()
    assert daily.procedures_completed == 3
    assert DailyRollup.objects.get(day=newer.date()).procedures_completed == 1
    # 10h, 12h, 13h (late), 15h two days ago, plus the newer hour.
    assert HourlyRollup.objects.filter(device=cred.device).count() == 5


def test_events_younger_than_the_lag_wait_for_the_next_run(telemetry_credential):
    ingest_batch(credential=telemetry_credential.credential, events=[procedure(1)])
    assert process_new_events(lag=timedelta(minutes=5))["events"] == 0
    assert process_new_events(lag=NOW)["events"] == 1


def test_throughput_beyond_the_modality_limit_is_flagged(telemetry_credential, settings):
    settings.TELEMETRY_MAX_PROCEDURES_PER_HOUR = {"CT": 4}
    start = _day(1)
    # Six 3-minute CT exams in 30 minutes: the 5th and 6th exceed 4/hour.
    events = [procedure(i + 1, end=start + timedelta(minutes=5 * i), minutes=3) for i in range(6)]
    ingest_batch(credential=telemetry_credential.credential, events=events)
    process_new_events(lag=NOW)
    flagged = sorted(PlausibilityFlag.objects.filter(code=FlagCode.THROUGHPUT).values_list("event__seq", flat=True))
    assert flagged == [5, 6]
    process_new_events(lag=NOW)
    assert PlausibilityFlag.objects.filter(code=FlagCode.THROUGHPUT).count() == 2


def test_overlapping_procedures_flag_the_later_arrival(telemetry_credential):
    cred = telemetry_credential.credential
    t = _day(1)
    ingest_batch(credential=cred, events=[procedure(1, end=t, minutes=20)])
    process_new_events(lag=NOW)
    ingest_batch(credential=cred, events=[procedure(2, end=t + timedelta(minutes=10), minutes=15),
                                          procedure(3, end=t + timedelta(minutes=40), minutes=10)])
    process_new_events(lag=NOW)
    flags = list(PlausibilityFlag.objects.filter(code=FlagCode.OVERLAP))
    assert [f.event.seq for f in flags] == [2]

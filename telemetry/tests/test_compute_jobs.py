"""Compute jobs: idle GPU time sold by a GPU-equipped scanner. Signed like every event,
checked like procedures (energy vs seconds, clock), flagged when they overlap a procedure
or another job on the same GPU, rolled up apart, priced per GPU-hour."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.errors import ApplicationError
from core.models import AuditEvent
from telemetry import selectors, services
from telemetry.ingest import ingest_batch
from telemetry.models import DailyRollup, FlagCode, HourlyRollup, PlausibilityFlag, TelemetryEvent
from telemetry.processing import process_new_events
from tests.fixtures.telemetry import procedure

pytestmark = pytest.mark.django_db
FMT = "%Y-%m-%dT%H:%M:%SZ"


def _day() -> datetime:
    # Last month's last day, 00:00 UTC: in the past, under the 35-day age limit.
    return datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)


def job(seq, *, start, minutes=60, gpu_s=None, energy=None, gpu=0, job_id=None):
    end = start + timedelta(minutes=minutes)
    gpu_s = gpu_s or f"{minutes * 60}.0"
    energy = energy or str(Decimal(gpu_s) * 300)
    job_id = job_id or f"job-{seq}-{start:%H%M}"
    return {"seq": seq, "kind": "compute_job", "idempotency_key": job_id, "occurred_at": end.strftime(FMT),
            "data": {"job_id": job_id, "started_at": start.strftime(FMT), "ended_at": end.strftime(FMT),
                     "gpu_index": gpu, "gpu_seconds": gpu_s, "gpu_energy_j": energy}}


def test_compute_jobs_are_validated_and_idempotent_by_job_id(telemetry_credential):
    cred = telemetry_credential.credential
    d = _day()
    good = job(1, start=d + timedelta(hours=1))
    wrong_key = {**job(2, start=d + timedelta(hours=3)), "idempotency_key": "other"}
    backwards = job(3, start=d + timedelta(hours=5))
    backwards["data"]["ended_at"] = backwards["data"]["started_at"]
    other_gpu = job(4, start=d + timedelta(hours=6), gpu=1)  # the device has one GPU
    missing = job(5, start=d + timedelta(hours=7))
    del missing["data"]["gpu_energy_j"]
    result = ingest_batch(credential=cred, events=[good, wrong_key, backwards, other_gpu, missing])
    assert [r["status"] for r in result.results] == ["accepted", "rejected", "rejected", "rejected", "rejected"]
    reasons = [r.get("reason", "") for r in result.results]
    assert "job_id" in reasons[1] and "after" in reasons[2] and "1 GPU" in reasons[3] and "gpu_energy_j" in reasons[4]
    resent = {**good, "seq": 6}
    assert ingest_batch(credential=cred, events=[resent]).results[0]["status"] == "duplicate"
    ev = TelemetryEvent.objects.get(kind="compute_job")
    assert (ev.gpu_index, ev.gpu_seconds, ev.started_at) == (0, Decimal("3600.000"), d + timedelta(hours=1))


def test_implausible_energy_and_clock_are_flagged_like_procedures(telemetry_credential):
    cred = telemetry_credential.credential
    d = _day()
    hot = job(1, start=d + timedelta(hours=1), energy="36000000.0")  # 10 kW on one GPU
    busy = job(2, start=d + timedelta(hours=3), minutes=10, gpu_s="1200.0")  # busy longer than it ran
    future = job(3, start=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2))
    ingest_batch(credential=cred, events=[hot, busy, future])
    codes = {(f.event.idempotency_key, f.code) for f in PlausibilityFlag.objects.select_related("event")}
    assert codes == {(hot["idempotency_key"], FlagCode.GPU_ENERGY), (busy["idempotency_key"], FlagCode.GPU_ENERGY),
                     (future["idempotency_key"], FlagCode.CLOCK_SKEW)}


def test_job_overlapping_a_procedure_or_another_job_on_its_gpu_is_flagged(telemetry_credential):
    cred = telemetry_credential.credential
    cred.device.gpu_count = 2
    cred.device.save(update_fields=["gpu_count"])
    d = _day()
    proc = procedure(1, end=d + timedelta(hours=2), minutes=15)  # 01:45-02:00
    clash = job(2, start=d + timedelta(hours=1, minutes=30))  # 01:30-02:30: overlaps the exam
    clean = job(3, start=d + timedelta(hours=4))
    same_gpu = job(4, start=d + timedelta(hours=4, minutes=30))  # overlaps `clean` on GPU 0
    other_gpu = job(5, start=d + timedelta(hours=4, minutes=30), gpu=1)
    ingest_batch(credential=cred, events=[proc, clash, clean, same_gpu, other_gpu])
    process_new_events(lag=timedelta(0))
    flagged = set(PlausibilityFlag.objects.filter(code=FlagCode.OVERLAP).values_list("event__idempotency_key",
                                                                                     flat=True))
    assert flagged == {clash["idempotency_key"], same_gpu["idempotency_key"]}
    # A procedure arriving after a job it overlaps flags the job, not the exam.
    late = job(6, start=d + timedelta(hours=8))
    ingest_batch(credential=cred, events=[late])
    process_new_events(lag=timedelta(0))
    ingest_batch(credential=cred, events=[procedure(7, end=d + timedelta(hours=8, minutes=40), minutes=20)])
    process_new_events(lag=timedelta(0))
    assert PlausibilityFlag.objects.filter(code=FlagCode.OVERLAP, event__idempotency_key=late["idempotency_key"]
                                           ).exists()
    assert not PlausibilityFlag.objects.filter(event__kind="procedure").exists()


def test_compute_revenue_line_excludes_flagged_jobs_and_rollups_count_gpu_seconds_apart(
        telemetry_credential, platform_admin):
    cred = telemetry_credential.credential
    device = cred.device
    d = _day()
    services.compute_tariff_set(actor=platform_admin, year=d.year, price_per_gpu_hour=Decimal("1.20"),
                                currency="USD")
    ingest_batch(credential=cred, events=[
        procedure(1, end=d + timedelta(hours=10)),
        job(2, start=d + timedelta(hours=1), minutes=90),  # 1.5 GPU-h
        job(3, start=d + timedelta(hours=3), minutes=45),  # 0.75 GPU-h
        job(4, start=d + timedelta(hours=5), energy="99999999.0"),  # flagged: excluded
    ])
    process_new_events(lag=timedelta(0))
    start, end = selectors.month_bounds(d.date())
    f = selectors.compute_revenue(device=device, start=start, end=end)
    line = next(ln for ln in f["lines"] if ln["kind"] == "compute")
    assert (f["compute_jobs"], f["excluded_flagged_jobs"], f["compute_amount"]) == (2, 1, Decimal("2.70"))
    assert line["explanation"] == f"2 compute jobs, 2.2500 GPU-hours × 1.2 USD/GPU-hour ({d.year})"
    assert f["amount"] == f["procedure_amount"] + Decimal("2.70")
    day = DailyRollup.objects.get(device=device, day=d.date())
    assert day.compute_gpu_seconds == Decimal("11700")  # 5400 + 2700 + 3600: rollups count every job
    assert day.gpu_seconds == Decimal("95.5")  # the exam's reconstruction only
    assert HourlyRollup.objects.get(device=device, hour=d + timedelta(hours=2)).compute_gpu_seconds == 5400
    usage = selectors.daily_usage(device=device, start=d.date() - timedelta(days=1), end=d.date() + timedelta(days=1))
    assert [u["day"] for u in usage] == [d.date() - timedelta(days=1), d.date()]
    assert usage[0]["compute_gpu_hours"] == Decimal("0.000")
    assert usage[1] == {"day": d.date(), "procedures_completed": 1, "procedures_discontinued": 0,
                        "gpu_hours": Decimal("0.027"), "compute_gpu_hours": Decimal("3.250"),
                        "online_hours": Decimal(0)}


def test_unpriced_compute_says_why_and_tariff_needs_an_admin(telemetry_credential, platform_admin, clinic_admin):
    cred = telemetry_credential.credential
    d = _day()
    ingest_batch(credential=cred, events=[job(1, start=d + timedelta(hours=1))])
    start, end = selectors.month_bounds(d.date())
    line = selectors.compute_revenue(device=cred.device, start=start, end=end)["lines"][0]
    assert line["amount"] is None and line["reason"] == f"no compute tariff for {d.year} or earlier"
    with pytest.raises(ApplicationError) as exc:
        services.compute_tariff_set(actor=clinic_admin, year=d.year, price_per_gpu_hour=Decimal(1), currency="USD")
    assert exc.value.status == 403
    with pytest.raises(ApplicationError):
        services.compute_tariff_set(actor=platform_admin, year=d.year, price_per_gpu_hour=Decimal(-1), currency="USD")


def test_compute_tariff_api_and_page(api_as, client, platform_admin, clinic_admin):
    api = api_as(platform_admin)
    r = api.post("/api/v1/telemetry/compute-tariffs/", {"year": 2026, "price_per_gpu_hour": "1.85",
                                                          "currency": "USD"}, format="json")
    assert r.status_code == 200 and r.json()["price_per_gpu_hour"] == "1.8500"
    assert api.get("/api/v1/telemetry/compute-tariffs/").json()[0]["year"] == 2026
    assert api_as(clinic_admin).get("/api/v1/telemetry/compute-tariffs/").status_code == 403
    client.force_login(platform_admin)
    r = client.post("/telemetry/compute-tariffs/", {"year": 2027, "price_per_gpu_hour": "2.10", "currency": "USD"})
    assert r.status_code == 302
    assert "2.1000" in client.get("/telemetry/compute-tariffs/").content.decode()
    assert "/telemetry/compute-tariffs/" in client.get("/telemetry/tariffs/").content.decode()
    r = client.post("/telemetry/compute-tariffs/", {"year": 2027, "price_per_gpu_hour": "-1", "currency": "USD"})
    assert r.status_code == 200 and "greater than or equal to 0" in r.content.decode()
    assert AuditEvent.objects.filter(action="telemetry.compute_tariff_set").count() == 2


def test_simulated_ct_day_is_accepted_unflagged_and_priced(telemetry_credential, platform_admin, tmp_path):
    """The agent's simulator and the platform agree: a CT's exams and evening compute jobs
    are all accepted, none is flagged, and the month gets a compute line."""
    from agent import simulate
    from agent.spool import Spool

    cred = telemetry_credential.credential
    now = datetime.now(UTC).replace(microsecond=0)
    services.compute_tariff_set(actor=platform_admin, year=now.year, price_per_gpu_hour=Decimal("1.50"),
                                currency="USD")
    with Spool(tmp_path / "s.db") as spool:
        counts = simulate.backfill(spool, modality="CT", days=3, device_id="ct", seed=11, now=now)
        result = ingest_batch(credential=cred, events=[e.to_wire() for e in spool.pending(5000)])
    assert counts["compute_job"] >= 3 and result.rejected == 0
    process_new_events(lag=timedelta(0))
    jobs = TelemetryEvent.objects.filter(device=cred.device, kind="compute_job")
    assert jobs.count() == counts["compute_job"]
    assert not PlausibilityFlag.objects.filter(event__kind="compute_job").exists()
    total = sum(selectors.compute_revenue(device=cred.device, start=s, end=e)["compute_jobs"]
                for s, e in {selectors.month_bounds((now - timedelta(days=d)).date()) for d in range(4)})
    assert total == counts["compute_job"]


def test_the_device_page_shows_a_closed_month_with_a_compute_line(telemetry_credential, platform_admin, client):
    """Regression (issue 18): a compute line has no CPT code, and the device page looked it up
    as a filter argument, which answers HTTP 500 for the clinic and the platform admin."""
    cred = telemetry_credential.credential
    device = cred.device
    d = _day()
    services.compute_tariff_set(actor=platform_admin, year=d.year, price_per_gpu_hour=Decimal("1.20"),
                                currency="USD")
    ingest_batch(credential=cred, events=[procedure(1, end=d + timedelta(hours=10)),
                                          job(2, start=d + timedelta(hours=1), minutes=90)])
    process_new_events(lag=timedelta(0))
    period = services.revenue_period_close(actor=platform_admin, device=device, period_start=d.date().replace(day=1))
    assert any(ln["kind"] == "compute" for ln in period.lines)
    client.force_login(platform_admin)
    page = client.get(f"/telemetry/devices/{device.pk}/")
    assert page.status_code == 200
    assert "1 compute jobs, 1.5000 GPU-hours × 1.2 USD/GPU-hour" in page.content.decode()

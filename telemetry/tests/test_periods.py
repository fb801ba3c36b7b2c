"""Closed periods are immutable; corrections are adjustment periods holding only the
difference; `period_closed` hooks run inside the close; tokenized devices are settled by
their distribution, not by hand."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.errors import ApplicationError
from core.models import AuditEvent
from telemetry import hooks, selectors, services
from telemetry.ingest import ingest_batch
from telemetry.models import FlagCode, PlausibilityFlag, RevenuePeriod, Tariff
from tests.fixtures.telemetry import procedure

pytestmark = pytest.mark.django_db
CALLS: list = []


def record_hook(period):
    CALLS.append((period.pk, period.kind, period.amount))


def failing_hook(period):
    raise RuntimeError("distribution ledger unavailable")


@pytest.fixture
def closed(telemetry_credential, platform_admin):
    """Last month closed with 2 counted exams and 1 flagged (implausible energy)."""
    end = datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0) - timedelta(days=3)
    Tariff.objects.create(cpt_code="74177", payer="default", year=end.year, technical_fee=Decimal("245.00"))
    ingest_batch(credential=telemetry_credential.credential, events=[
        procedure(1, end=end - timedelta(hours=2)), procedure(2, end=end - timedelta(hours=1)),
        procedure(3, end=end, gpu_s="60.0", energy="600000.0"),
    ])
    device = telemetry_credential.credential.device
    return services.revenue_period_close(actor=platform_admin, device=device, period_start=end.date())


def test_closed_period_figures_cannot_be_edited(closed):
    assert (closed.procedures, closed.amount, closed.procedure_amount, closed.excluded_flagged) == (
        2, Decimal("490.00"), Decimal("490.00"), 1)
    closed.amount = Decimal("1000000.00")
    with pytest.raises(ApplicationError) as exc:
        closed.save()
    assert exc.value.code == "period_immutable"
    with pytest.raises(ApplicationError):
        RevenuePeriod.objects.filter(pk=closed.pk).update(lines=[])
    with pytest.raises(ApplicationError):
        RevenuePeriod.objects.get(pk=closed.pk).delete()
    assert RevenuePeriod.objects.get(pk=closed.pk).amount == Decimal("490.00")


def test_adjust_records_only_the_difference_after_a_late_flag_clear(closed, platform_admin):
    with pytest.raises(ApplicationError) as exc:
        services.revenue_period_adjust(actor=platform_admin, period=closed, reason="check")
    assert exc.value.code == "no_difference"
    flag = PlausibilityFlag.objects.get(code=FlagCode.GPU_ENERGY)
    services.flag_clear(actor=platform_admin, flag=flag, reason="4-GPU recon, verified")
    with pytest.raises(ApplicationError) as exc:
        services.revenue_period_adjust(actor=platform_admin, period=closed, reason=" ")
    assert exc.value.code == "reason_required"
    adj = services.revenue_period_adjust(actor=platform_admin, period=closed, reason="flag cleared after close")
    assert (adj.kind, adj.adjusts_id, adj.period_start) == ("adjustment", closed.pk, closed.period_start)
    assert (adj.procedures, adj.excluded_flagged, adj.amount, adj.procedure_amount) == (
        1, -1, Decimal("245.00"), Decimal("245.00"))
    assert len(adj.lines) == 1 and adj.lines[0]["count"] == 1 and adj.lines[0]["amount"] == "245.00"
    assert adj.lines[0]["explanation"].startswith("+1 × CPT 74177 (default")
    closed.refresh_from_db()
    assert closed.amount == Decimal("490.00")  # the original stays as closed
    # The original + its adjustment now equal the recomputation: nothing more to adjust.
    with pytest.raises(ApplicationError) as exc:
        services.revenue_period_adjust(actor=platform_admin, period=closed, reason="again")
    assert exc.value.code == "no_difference"
    views = [v for v in selectors.device_revenue_periods(device=closed.device) if v.period_start == closed.period_start]
    assert [v.kind for v in views] == ["regular", "adjustment"]
    assert AuditEvent.objects.filter(action="telemetry.revenue_period_adjust",
                                     reason="flag cleared after close").exists()


def test_a_fee_change_after_close_adjusts_by_the_amount_only(closed, platform_admin):
    Tariff.objects.filter(cpt_code="74177").update(technical_fee=Decimal("200.00"))
    adj = services.revenue_period_adjust(actor=platform_admin, period=closed, reason="fee schedule corrected")
    assert (adj.procedures, adj.amount) == (0, Decimal("-90.00"))
    assert adj.lines[0]["count"] == 0 and adj.lines[0]["amount"] == "-90.00"


def test_period_closed_hooks_run_inside_the_transaction(telemetry_credential, platform_admin):
    device = telemetry_credential.credential.device
    last_month = datetime.now(UTC).replace(day=1).date() - timedelta(days=2)
    hooks.register("period_closed", f"{__name__}.failing_hook")
    try:
        with pytest.raises(RuntimeError):
            services.revenue_period_close(actor=platform_admin, device=device, period_start=last_month)
        assert not RevenuePeriod.objects.exists()  # rolled back with the hook
        assert not AuditEvent.objects.filter(action="telemetry.revenue_period_close").exists()
    finally:
        hooks.unregister("period_closed", f"{__name__}.failing_hook")
    hooks.register("period_closed", f"{__name__}.record_hook")
    try:
        CALLS.clear()
        period = services.revenue_period_close(actor=platform_admin, device=device, period_start=last_month)
        assert [(period.pk, "regular", Decimal("0.00"))] == CALLS
    finally:
        hooks.unregister("period_closed", f"{__name__}.record_hook")
    with pytest.raises(ValueError):
        hooks.register("period_opened", f"{__name__}.record_hook")


def test_manual_settle_refused_for_a_tokenized_device_but_the_system_may(closed, platform_admin):
    device = closed.device
    device.status = "tokenized"
    device.save(update_fields=["status"])
    with pytest.raises(ApplicationError) as exc:
        services.revenue_period_settle(actor=platform_admin, period=closed)
    assert exc.value.code == "settled_by_distribution" and "settled by its distribution" in exc.value.message
    period = services.revenue_period_settle(actor=None, period=closed)
    assert period.status == "settled" and period.amount == Decimal("490.00")
    assert AuditEvent.objects.filter(action="telemetry.revenue_period_settle", object_id=str(closed.pk)).exists()


def test_adjust_api_and_button(api_as, client, closed, platform_admin, clinic_admin):
    url = f"/api/v1/telemetry/periods/{closed.pk}/adjust/"
    assert api_as(clinic_admin).post(url, {"reason": "x"}, format="json").status_code == 403
    api = api_as(platform_admin)
    r = api.post(url, {"reason": "nothing changed"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_difference"
    services.flag_clear(actor=platform_admin, flag=PlausibilityFlag.objects.get(), reason="verified")
    client.force_login(platform_admin)
    page = client.get(f"/telemetry/devices/{closed.device_id}/").content.decode()
    assert "2 × CPT 74177 (default" in page and f"/telemetry/periods/{closed.pk}/adjust/" in page
    r = client.post(f"/telemetry/periods/{closed.pk}/adjust/", {"reason": "flag cleared late"})
    assert r.status_code == 302
    rows = api.get(f"/api/v1/telemetry/devices/{closed.device_id}/periods/").json()
    adj = next(p for p in rows if p["kind"] == "adjustment")
    assert (adj["adjusts"], adj["amount"], adj["reason"]) == (closed.pk, "245.00", "flag cleared late")

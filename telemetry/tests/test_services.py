from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.tests.factories import make_user
from core.errors import ApplicationError
from core.models import AuditEvent
from core.roles import Role
from telemetry import selectors, services
from telemetry.ingest import ingest_batch
from telemetry.models import FlagCode, PlausibilityFlag, Tariff
from telemetry.processing import process_new_events
from tests.fixtures.telemetry import make_device, procedure

pytestmark = pytest.mark.django_db


def test_credentials_only_for_certified_devices_and_by_the_clinic_admin(clinic_admin, platform_admin):
    org = clinic_admin.memberships.first().organization
    draft = make_device(org, status="draft")
    with pytest.raises(ApplicationError) as exc:
        services.credential_issue(actor=clinic_admin, device=draft)
    assert exc.value.code == "device_not_certified"
    tokenized = make_device(org, status="tokenized")
    assert services.credential_issue(actor=clinic_admin, device=tokenized).credential.key_id.startswith("dk_")
    other_admin = make_user(Role.CLINIC_ADMIN)
    with pytest.raises(ApplicationError):
        services.credential_issue(actor=other_admin, device=tokenized)
    staff = make_user(Role.CLINIC_STAFF, organization=org)
    with pytest.raises(ApplicationError):
        services.credential_issue(actor=staff, device=tokenized)


def test_secret_is_stored_encrypted_and_issue_is_audited(telemetry_credential):
    cred = telemetry_credential.credential
    assert telemetry_credential.secret not in cred.secret_encrypted
    assert AuditEvent.objects.filter(action="telemetry.credential_issue", object_id=str(cred.pk)).exists()


def _tariff(cpt="74177", fee="245.00"):
    Tariff.objects.create(cpt_code=cpt, payer="default", year=datetime.now(UTC).year, technical_fee=Decimal(fee))


def test_revenue_excludes_flagged_procedures_until_cleared(telemetry_credential, platform_admin):
    _tariff()
    _tariff("70450", "110.00")
    device = telemetry_credential.credential.device
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    if end.day == 1 and end.hour < 3:  # keep all three in this month
        end += timedelta(hours=3)
    ingest_batch(credential=telemetry_credential.credential, events=[
        procedure(1, end=end - timedelta(hours=2)),
        procedure(2, end=end - timedelta(hours=1), cpt="70450"),
        procedure(3, end=end, gpu_s="100.0", energy="900000.0"),  # implausible energy: flagged
        procedure(4, end=end - timedelta(hours=3), status="DISCONTINUED", reason="110501"),
    ])
    current = selectors.device_revenue_periods(device=device)[0]
    assert current.status == "open"
    assert (current.procedures, current.excluded_flagged, current.amount) == (2, 1, Decimal("355.00"))

    flag = PlausibilityFlag.objects.get(code=FlagCode.GPU_ENERGY)
    with pytest.raises(ApplicationError) as exc:
        services.flag_clear(actor=platform_admin, flag=flag, reason="  ")
    assert exc.value.code == "reason_required"
    with pytest.raises(ApplicationError):
        services.flag_clear(actor=make_user(Role.CLINIC_ADMIN), flag=flag, reason="trust me")
    services.flag_clear(actor=platform_admin, flag=flag, reason="Dual-energy recon on 4 GPUs, verified on site")
    current = selectors.device_revenue_periods(device=device)[0]
    assert (current.procedures, current.excluded_flagged, current.amount) == (3, 0, Decimal("600.00"))
    assert AuditEvent.objects.filter(action="telemetry.flag_clear", reason__startswith="Dual-energy").exists()


def test_close_and_settle_a_past_month(telemetry_credential, platform_admin):
    _tariff()
    device = telemetry_credential.credential.device
    first_of_month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month_end = first_of_month - timedelta(days=3)
    Tariff.objects.get_or_create(cpt_code="74177", payer="default", year=last_month_end.year,
                                 defaults={"technical_fee": Decimal("245.00")})
    events = [procedure(1, end=last_month_end), procedure(2, end=last_month_end + timedelta(hours=1))]
    ingest_batch(credential=telemetry_credential.credential, events=events)
    with pytest.raises(ApplicationError) as exc:
        services.revenue_period_close(actor=platform_admin, device=device, period_start=first_of_month.date())
    assert exc.value.code == "period_not_over"
    period = services.revenue_period_close(actor=platform_admin, device=device, period_start=last_month_end.date())
    assert (period.procedures, period.amount, period.period_start) == (2, Decimal("490.00"),
                                                                       last_month_end.date().replace(day=1))
    period = services.revenue_period_settle(actor=platform_admin, period=period)
    assert period.status == "settled"
    with pytest.raises(ApplicationError):
        services.revenue_period_settle(actor=platform_admin, period=period)
    views = {v.period_start: v for v in selectors.device_revenue_periods(device=device)}
    assert views[period.period_start].status == "settled"


def test_device_daily_procedures_is_zero_filled(telemetry_credential):
    device = telemetry_credential.credential.device
    yesterday = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=1)
    ingest_batch(credential=telemetry_credential.credential, events=[procedure(1, end=yesterday),
                                                                     procedure(2, end=yesterday + timedelta(hours=1))])
    process_new_events(lag=timedelta(0))
    rows = selectors.device_daily_procedures(device=device, days=7)
    assert len(rows) == 7 and rows[-1]["day"] == datetime.now(UTC).date()
    assert rows[-2] == {"day": yesterday.date(), "procedures": 2, "discontinued": 0,
                        "gpu_hours": Decimal("0.05"), "online_hours": 0}
    assert sum(r["procedures"] for r in rows) == 2
    assert isinstance(rows[0]["day"], date)


def test_the_admin_who_issued_a_devices_keys_cannot_clear_its_flags_or_close_its_months(platform_admin,
                                                                                         user_with_role):
    """Separation of duties: a key issuer could sign the usage; a second admin vouches for it."""
    import datetime as dt

    from accounts.models import Organization
    from core.errors import ApplicationError
    from core.permissions import Role
    from telemetry.models import PlausibilityFlag, TelemetryEvent
    from telemetry.services import credential_issue, flag_clear, revenue_period_close
    from tests.fixtures.telemetry import make_device

    org = Organization.objects.create(name="SoD clinic", kind=Organization.Kind.CLINIC, country="DE")
    device = make_device(org)
    credential_issue(actor=platform_admin, device=device, label="issued by the admin")
    now = dt.datetime.now(dt.UTC)
    event = TelemetryEvent.objects.create(device=device, seq=1, kind="procedure", idempotency_key="k1",
                                          occurred_at=now, received_at=now, status="COMPLETED")
    flag = PlausibilityFlag.objects.create(device=device, event=event, code="throughput")
    last_month = (now.date().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    for attempt in (lambda a: flag_clear(actor=a, flag=flag, reason="checked the worklist"),
                    lambda a: revenue_period_close(actor=a, device=device, period_start=last_month)):
        with pytest.raises(ApplicationError) as err:
            attempt(platform_admin)
        assert err.value.code == "separation_of_duties" and err.value.status == 403
    second = user_with_role(Role.PLATFORM_ADMIN)
    assert flag_clear(actor=second, flag=flag, reason="checked the worklist").cleared_by == second
    assert revenue_period_close(actor=second, device=device, period_start=last_month).closed_by == second

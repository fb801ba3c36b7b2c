"""Explained revenue lines: payer per event or by the device's payer mix (largest
remainder), fee schedule per CPT × payer × year, unpriced lines with a reason."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts.tests.factories import make_user
from core.errors import ApplicationError
from core.models import AuditEvent
from core.roles import Role
from telemetry import selectors, services
from telemetry.ingest import ingest_batch
from telemetry.models import PayerMix, Tariff
from tests.fixtures.telemetry import procedure

pytestmark = pytest.mark.django_db


def _month_start() -> datetime:
    """Midnight of last month's last day: its events are in the past at any time of day and
    young enough (under 35 days) not to be flagged."""
    return datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)


def _procs(n, *, start_seq=1, cpt="74177", payer=None, base=None):
    base = base or _month_start() + timedelta(hours=1)
    out = []
    for i in range(n):
        ev = procedure(start_seq + i, end=base + timedelta(minutes=20 * i + 15), cpt=cpt)
        if payer:
            ev["data"]["payer"] = payer
        out.append(ev)
    return out


def _fee(cpt, payer, fee, year=None):
    Tariff.objects.create(cpt_code=cpt, payer=payer, year=year or datetime.now(UTC).year, technical_fee=Decimal(fee))


def test_apportion_is_integer_and_sums_exactly():
    mix = [("Medicare", Decimal("33.34")), ("Aetna", Decimal("33.33")), ("Cigna", Decimal("33.33"))]
    assert selectors.apportion(10, mix) == {"Medicare": 4, "Aetna": 3, "Cigna": 3}
    assert selectors.apportion(31, [("Medicare", Decimal(60)), ("Aetna", Decimal(40))]) == {"Medicare": 19,
                                                                                               "Aetna": 12}
    assert selectors.apportion(0, mix) == {"Medicare": 0, "Aetna": 0, "Cigna": 0}


@given(st.integers(0, 5000), st.lists(st.integers(1, 9999), min_size=1, max_size=6))
def test_apportion_parts_always_sum_to_the_count(count, weights):
    total = sum(weights)
    shares = [Decimal(w) * 100 / total for w in weights]
    mix = [(f"p{i}", s) for i, s in enumerate(shares)]
    parts = selectors.apportion(count, mix)
    assert sum(parts.values()) == count
    for (payer, share) in mix:  # never more than one off the exact quota
        assert abs(parts[payer] - Decimal(count) * share / sum(shares)) < 1


def test_revenue_lines_explain_payer_mix_event_payer_and_unpriced(telemetry_credential, platform_admin):
    device = telemetry_credential.credential.device
    year = _month_start().year
    _fee("74177", "Medicare", "245.00", year)
    _fee("74177", "Aetna", "300.00", year)
    _fee("74177", "BlueCross", "280.00", year)
    services.payer_mix_set(actor=platform_admin, device=device,
                           shares=[("Medicare", Decimal("60")), ("Aetna", Decimal("40"))])
    events = _procs(5) + _procs(2, start_seq=6, payer="BlueCross", base=_month_start() + timedelta(hours=5)) \
        + _procs(1, start_seq=8, cpt="99999", base=_month_start() + timedelta(hours=8))
    ingest_batch(credential=telemetry_credential.credential, events=events)
    start, end = selectors.month_bounds(_month_start().date())
    f = selectors.compute_revenue(device=device, start=start, end=end)
    by = {(ln["cpt_code"], ln["payer"]): ln for ln in f["lines"]}
    assert by[("74177", "Medicare")]["count"] == 3 and by[("74177", "Aetna")]["count"] == 2
    assert by[("74177", "BlueCross")]["count"] == 2 and by[("74177", "BlueCross")]["apportioned"] == 0
    assert by[("74177", "Medicare")]["explanation"] == f"3 × CPT 74177 (Medicare {year}, $245.00), 3 by payer mix"
    assert by[("74177", "BlueCross")]["explanation"] == f"2 × CPT 74177 (BlueCross {year}, $280.00)"
    from django.utils import translation

    with translation.override("zh-hans"):  # shown in the reader's language; stored in English
        assert selectors.describe_line(by[("74177", "Medicare")]) == \
            f"3 × CPT 74177（Medicare {year}，$245.00），其中 3 次按付款方构成分摊"
        assert selectors.describe_line(by[("99999", "Medicare")]).endswith(
            f"未定价，付款方 Medicare 在 {year} 年及以前没有 CPT 99999 的费用")
    assert selectors.describe_line({"kind": "procedure", "explanation": "kept"}) == "kept"  # unknown shape
    unpriced = by[("99999", "Medicare")]  # 1 exam: the larger share takes it
    assert unpriced["amount"] is None and "no fee for CPT 99999" in unpriced["reason"]
    assert all(ln["kind"] == "procedure" for ln in f["lines"])
    assert f["procedure_amount"] == Decimal("735.00") + Decimal("600.00") + Decimal("560.00")
    assert (f["procedures"], f["unpriced_procedures"], f["amount"]) == (8, 1, f["procedure_amount"])


def test_event_payer_is_stored_and_validated(telemetry_credential):
    ev = _procs(1, payer="Medicare")[0]
    bad = _procs(1, start_seq=2, payer="x" * 61, base=_month_start() + timedelta(hours=3))[0]
    result = ingest_batch(credential=telemetry_credential.credential, events=[ev, bad])
    assert [r["status"] for r in result.results] == ["accepted", "rejected"]
    assert "payer" in result.results[1]["reason"]
    from telemetry.models import TelemetryEvent
    assert TelemetryEvent.objects.get(idempotency_key=ev["idempotency_key"]).payer == "Medicare"


def test_payer_mix_must_sum_to_100_and_only_admins_set_it(telemetry_credential, platform_admin, clinic_admin):
    device = telemetry_credential.credential.device
    for shares, msg in [([("A", Decimal(60)), ("B", Decimal(30))], "add up to 90"),
                        ([("A", Decimal(50)), ("A", Decimal(50))], "twice"),
                        ([("A", Decimal("100.001"))], "at most"), ([("", Decimal(100))], "name"), ([], "at least")]:
        with pytest.raises(ApplicationError) as exc:
            services.payer_mix_set(actor=platform_admin, device=device, shares=shares)
        assert exc.value.code == "invalid_payer_mix" and msg in exc.value.message, shares
    with pytest.raises(ApplicationError) as exc:
        services.payer_mix_set(actor=clinic_admin, device=device, shares=[("A", Decimal(100))])
    assert exc.value.status == 403
    assert selectors.payer_mix(device=device) == [("default", Decimal(100))]
    services.payer_mix_set(actor=platform_admin, device=device, shares=[("A", Decimal("70.5")), ("B", Decimal("29.5"))])
    assert PayerMix.objects.filter(device=device).count() == 2
    assert AuditEvent.objects.filter(action="telemetry.payer_mix_set").count() == 1


def test_payer_mix_api_and_page(api_as, client, telemetry_credential, platform_admin, clinic_admin):
    device = telemetry_credential.credential.device
    url = f"/api/v1/telemetry/devices/{device.pk}/payer-mix/"
    r = api_as(clinic_admin).get(url)
    assert r.status_code == 200 and r.json()["shares"] == [{"payer": "default", "share_pct": "100.00"}]
    assert api_as(clinic_admin).put(url, {"shares": [{"payer": "A", "share_pct": "100"}]},
                                    format="json").status_code == 403
    api = api_as(platform_admin)
    r = api.put(url, {"shares": [{"payer": "Medicare", "share_pct": "60"}, {"payer": "Aetna", "share_pct": "30"}]},
                format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_payer_mix"
    r = api.put(url, {"shares": [{"payer": "Medicare", "share_pct": "60"}, {"payer": "Aetna", "share_pct": "40"}]},
                format="json")
    assert r.status_code == 200 and r.json()["shares"][0] == {"payer": "Medicare", "share_pct": "60.00"}
    client.force_login(platform_admin)
    page = client.get(f"/telemetry/devices/{device.pk}/payer-mix/")
    assert page.status_code == 200 and "Medicare: 60.00" in page.content.decode()
    r = client.post(f"/telemetry/devices/{device.pk}/payer-mix/", {"shares": "Medicare: 50\nAetna: 25%\nCigna: 25"})
    assert r.status_code == 302
    assert selectors.payer_mix(device=device)[0] == ("Medicare", Decimal("50.00"))
    r = client.post(f"/telemetry/devices/{device.pk}/payer-mix/", {"shares": "Medicare: 50"})
    assert r.status_code == 200 and "not 100" in r.content.decode()
    client.force_login(make_user(Role.CLINIC_ADMIN))
    assert client.get(f"/telemetry/devices/{device.pk}/payer-mix/").status_code in (403, 404)

"""Demo telemetry: a few days of simulated usage for certified demo devices, produced by
the real agent's simulator in the spool the demo agent (`telemetry_run_demo_agents`) will
keep using, so its live events continue the same sequence and simulated clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from agent import simulate
from agent.spool import Spool
from assets.models import Device, DeviceStatus
from core.crypto import decrypt_str
from core.permissions import Role
from telemetry.ingest import ingest_batch
from telemetry.models import ComputeTariff, DeviceCredential, Tariff
from telemetry.processing import process_new_events
from telemetry.services import credential_issue

DEMO_LABEL = "demo agent"
BACKFILL_DAYS = 4
# Medicare-like technical fees (../shared/DOMAIN.md: CPT 74177 ≈ $245 technical).
DEMO_TARIFFS = {"74177": "245.00", "74176": "190.00", "71250": "150.00", "70450": "110.00", "71275": "210.00",
                "70553": "260.00", "70551": "170.00", "72148": "175.00", "73721": "165.00", "72141": "175.00",
                "74183": "320.00"}
DEMO_COMPUTE_PRICE = "1.80"  # USD per GPU-hour of idle workstation-class GPU time


def backfill_days() -> float:
    """From the first day of the previous month (a whole month to close and distribute)."""
    today = timezone.now().date()
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return max(BACKFILL_DAYS, (today - start).days + 1)


def demo_devices():
    return Device.objects.filter(status__in=[DeviceStatus.CERTIFIED, DeviceStatus.TOKENIZED]).order_by("pk")


def sim_modality(device: Device) -> str:
    return "MR" if device.modality == "MR" else "CT"


def spool_path(device: Device) -> Path:
    return Path(settings.VAR_DIR) / "agent" / f"device-{device.pk}" / "spool.db"


def demo_credential(device: Device) -> tuple[DeviceCredential, str] | None:
    """The demo agent's key for the device (issued by the clinic's admin if missing)."""
    cred = DeviceCredential.objects.filter(device=device, label=DEMO_LABEL, revoked_at=None).first()
    if cred is not None:
        return cred, decrypt_str(cred.secret_encrypted)
    admin = (Membership.objects.filter(organization_id=device.organization_id, role=Role.CLINIC_ADMIN)
             .select_related("user").order_by("pk").first())
    if admin is None:
        return None
    issued = credential_issue(actor=admin.user, device=device, label=DEMO_LABEL)
    return issued.credential, issued.secret


def seed(stdout) -> None:
    year = date.today().year  # noqa: DTZ011 (a fee-schedule year)
    with transaction.atomic():
        for cpt, fee in DEMO_TARIFFS.items():
            for y in (year - 1, year):  # the back-filled previous month may be last December
                Tariff.objects.get_or_create(cpt_code=cpt, payer="default", year=y,
                                             defaults={"technical_fee": fee, "currency": "USD"})
        for y in (year - 1, year):
            ComputeTariff.objects.get_or_create(year=y, defaults={"price_per_gpu_hour": DEMO_COMPUTE_PRICE,
                                                                  "currency": "USD"})
    devices = list(demo_devices())
    if not devices:
        stdout.write("telemetry: no certified device yet; no demo telemetry")
        return
    for device in devices:
        got = demo_credential(device)
        if got is None:
            continue
        cred, _secret = got
        if device.telemetry_stream.events_total:
            continue  # back-filled before
        path = spool_path(device)
        path.parent.mkdir(parents=True, exist_ok=True)
        with Spool(path) as spool:
            counts = simulate.backfill(spool, modality=sim_modality(device), days=backfill_days(),
                                       device_id=f"device-{device.pk}", seed=device.pk, tz=UTC)
            while events := spool.pending(1000):
                # Uploaded as the agent would have, soon after they happened: the history
                # reaches back to the previous month, which the demo closes and distributes.
                wire = [e.to_wire() for e in events]
                newest = max(datetime.fromisoformat(e["occurred_at"]) for e in wire)
                result = ingest_batch(credential=cred, events=wire,
                                      received_at=min(timezone.now(), newest + timedelta(minutes=1)))
                spool.remove([r["seq"] for r in result.results])
        stdout.write(f"telemetry: {device} back-filled {counts['procedure']} procedures, "
                     f"{counts['compute_job']} compute jobs, {counts['heartbeat']} heartbeats")
    process_new_events(lag=timedelta(0))

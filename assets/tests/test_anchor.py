"""Certification anchors the two PDF hashes through the chain outbox (no node here: the
outbox rows are checked, and their outcome is fed to the hook as the processor would)."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from assets import chain_hooks, selectors, services, tasks
from assets.models import AnchorStatus
from chain.models import ChainTransaction, Deployment
from config.celery_app import app as celery_app
from core.errors import ApplicationError
from core.models import AuditEvent
from core.tasks import task_named

pytestmark = pytest.mark.django_db
REGISTRY = "0x" + "5a" * 20


@pytest.fixture
def registry(db):
    return Deployment.objects.create(chain_id=settings.CHAIN_ID, name="AssetRegistry", address=REGISTRY)


def _final(row, status, **kw):
    ChainTransaction.objects.filter(pk=row.pk).update(status=status, **kw)
    row.refresh_from_db()
    chain_hooks.on_anchor_final(row)


def test_certifying_enqueues_the_anchor_of_both_pdf_hashes(clinic_device_factory, registry):
    device, _ = clinic_device_factory("certified")
    cert_hash, appraisal_hash = selectors.device_anchor_hashes(device=device)
    assert device.anchor_status == AnchorStatus.PENDING and device.anchor_attempt == 1
    assert device.chain_anchor_id.startswith("0x") and len(device.chain_anchor_id) == 66
    row = ChainTransaction.objects.get(idempotency_key=f"assets.anchor:{device.pk}:1")
    assert row.kind == "assets.anchor" and row.contract_name == "AssetRegistry" and row.function == "anchor"
    assert row.to_address == REGISTRY
    assert row.args == [device.chain_anchor_id, "0x" + cert_hash, "0x" + appraisal_hash]
    assert AuditEvent.objects.filter(action="assets.device_anchor_enqueue", object_id=str(device.pk)).exists()

    _final(row, ChainTransaction.Status.CONFIRMED, tx_hash="0x" + "ab" * 32, block_number=42)
    device.refresh_from_db()
    assert device.anchor_status == AnchorStatus.ANCHORED
    assert device.anchor_tx_hash == "0x" + "ab" * 32 and device.anchor_block_number == 42
    _final(row, ChainTransaction.Status.CONFIRMED, tx_hash="0x" + "ab" * 32, block_number=42)  # idempotent
    assert AuditEvent.objects.filter(action="assets.device_anchor_final").count() == 1


def test_failed_anchor_is_retried_with_a_new_attempt_key(clinic_device_factory, registry, inspector, api_as):
    device, _ = clinic_device_factory("certified")
    first = ChainTransaction.objects.get(idempotency_key=f"assets.anchor:{device.pk}:1")
    with pytest.raises(ApplicationError) as e:  # not failed yet
        services.device_anchor_retry(actor=inspector, device=device)
    assert e.value.code == "anchor_not_failed"

    _final(first, ChainTransaction.Status.FAILED, error="execution reverted: NotAgent")
    device.refresh_from_db()
    assert device.anchor_status == AnchorStatus.FAILED and "NotAgent" in device.anchor_error

    r = api_as(inspector).post(f"/api/v1/devices/{device.pk}/anchor/retry/")
    assert r.status_code == 200, r.content
    assert r.data["anchor_status"] == "pending" and r.data["anchor_attempt"] == 2
    second = ChainTransaction.objects.get(idempotency_key=f"assets.anchor:{device.pk}:2")
    assert second.args[0] == first.args[0]  # same device-level anchor id

    _final(first, ChainTransaction.Status.FAILED, error="late duplicate")  # a stale attempt changes nothing
    device.refresh_from_db()
    assert device.anchor_status == AnchorStatus.PENDING
    _final(second, ChainTransaction.Status.CONFIRMED, tx_hash="0x" + "cd" * 32, block_number=43)
    device.refresh_from_db()
    assert device.anchor_status == AnchorStatus.ANCHORED and device.anchor_tx_hash == "0x" + "cd" * 32


def test_without_a_registry_certification_still_succeeds_and_anchoring_is_failed(clinic_device_factory):
    device, _ = clinic_device_factory("certified")
    assert device.status == "certified"
    assert device.anchor_status == AnchorStatus.FAILED and "not deployed" in device.anchor_error
    assert not ChainTransaction.objects.exists()


def test_only_platform_admins_and_inspectors_retry(clinic_device_factory, appraiser, api_as, client,
                                                   platform_admin):
    device, admin = clinic_device_factory("certified")  # failed: no registry
    for user in (admin, appraiser):
        r = api_as(user).post(f"/api/v1/devices/{device.pk}/anchor/retry/")
        assert r.status_code == 403, user
    device.refresh_from_db()
    assert device.anchor_attempt == 1
    client.force_login(platform_admin)
    html = client.get(f"/devices/{device.pk}/").content.decode()
    assert "Anchoring failed" in html and "Retry anchoring" in html
    Deployment.objects.create(chain_id=settings.CHAIN_ID, name="AssetRegistry", address=REGISTRY)
    r = client.post(f"/devices/{device.pk}/anchor/retry/", follow=True)
    assert "Anchoring sent again" in r.content.decode()
    device.refresh_from_db()
    assert device.anchor_status == AnchorStatus.PENDING and device.anchor_attempt == 2
    client.force_login(admin)
    assert "Retry anchoring" not in client.get(f"/devices/{device.pk}/").content.decode()


# --- the automatic retry ----------------------------------------------------------------------

def _page(client, user, device) -> str:
    client.force_login(user)
    r = client.get(f"/devices/{device.pk}/")
    assert r.status_code == 200
    return r.content.decode()


def test_certified_before_the_chain_is_up_is_anchored_automatically_once_the_registry_exists(
        clinic_device_factory, client, platform_admin):
    """The demo's case: the seed certifies before the chain process has deployed the contracts."""
    device, admin = clinic_device_factory("certified")
    assert device.anchor_status == AnchorStatus.FAILED and device.anchor_next_retry_at is not None
    assert "Retrying automatically as soon as the AssetRegistry contract is deployed" in _page(client, admin, device)

    later = timezone.now() + dt.timedelta(hours=3)
    assert services.device_anchors_retry_due(now=later) == 0  # no registry yet: no attempt is spent
    device.refresh_from_db()
    assert device.anchor_attempt == 1 and device.anchor_status == AnchorStatus.FAILED

    Deployment.objects.create(chain_id=settings.CHAIN_ID, name="AssetRegistry", address=REGISTRY)
    assert "Retrying automatically now" in _page(client, admin, device)
    assert services.device_anchors_retry_due() == 1
    device.refresh_from_db()
    assert device.anchor_status == AnchorStatus.PENDING and device.anchor_attempt == 2
    assert device.anchor_next_retry_at is None and device.anchor_auto_retries == 1
    row = ChainTransaction.objects.get(idempotency_key=f"assets.anchor:{device.pk}:2")
    event = AuditEvent.objects.filter(action="assets.device_anchor_enqueue", object_id=str(device.pk)).first()
    assert event.actor is None and event.after["automatic"] is True
    assert services.device_anchors_retry_due() == 0  # pending: nothing to retry

    _final(row, ChainTransaction.Status.CONFIRMED, tx_hash="0x" + "ef" * 32, block_number=7)
    device.refresh_from_db()
    assert device.anchor_status == AnchorStatus.ANCHORED and device.anchor_next_retry_at is None
    assert "Retrying automatically" not in _page(client, platform_admin, device)


def test_a_failed_transaction_is_retried_with_a_bounded_backoff_then_left_to_a_person(
        clinic_device_factory, registry, settings, client, inspector):
    settings.ASSETS_ANCHOR_RETRY_FIRST_SECONDS = 60
    settings.ASSETS_ANCHOR_RETRY_MAX_SECONDS = 150
    settings.ASSETS_ANCHOR_RETRY_ATTEMPTS = 3
    device, admin = clinic_device_factory("certified")
    delays = []
    for attempt in (1, 2, 3, 4):
        row = ChainTransaction.objects.get(idempotency_key=f"assets.anchor:{device.pk}:{attempt}")
        before = timezone.now()
        _final(row, ChainTransaction.Status.FAILED, error="would revert: NotAgent")
        device.refresh_from_db()
        assert device.anchor_status == AnchorStatus.FAILED
        if device.anchor_next_retry_at is None:
            break
        delay = (device.anchor_next_retry_at - before).total_seconds()
        delays.append(round(delay / 10) * 10)
        if attempt == 1:
            assert "Retrying automatically at" in _page(client, admin, device)
        assert services.device_anchors_retry_due(now=device.anchor_next_retry_at - dt.timedelta(seconds=5)) == 0
        assert services.device_anchors_retry_due(now=device.anchor_next_retry_at) == 1
    assert delays == [60, 120, 150]  # doubling, capped at the longest delay
    assert device.anchor_attempt == 4 and device.anchor_auto_retries == 3 and device.anchor_next_retry_at is None
    html = _page(client, inspector, device)
    assert "The automatic retries are used up" in html and "Retry anchoring" in html

    # The manual retry stays, and gives the automatic retries a fresh budget.
    device = services.device_anchor_retry(actor=inspector, device=device)
    assert device.anchor_attempt == 5 and device.anchor_auto_retries == 0
    row = ChainTransaction.objects.get(idempotency_key=f"assets.anchor:{device.pk}:5")
    _final(row, ChainTransaction.Status.FAILED, error="would revert: NotAgent")
    device.refresh_from_db()
    assert device.anchor_next_retry_at is not None


def test_a_permanent_error_is_not_retried_automatically(clinic_device_factory, registry, client, inspector):
    device, _ = clinic_device_factory("certified")
    row = ChainTransaction.objects.get(idempotency_key=f"assets.anchor:{device.pk}:1")
    _final(row, ChainTransaction.Status.FAILED, error="would revert: InvalidDeviceId()")
    device.refresh_from_db()
    assert device.anchor_status == AnchorStatus.FAILED and device.anchor_next_retry_at is None
    assert services.device_anchors_retry_due(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert "this error does not go away by itself" in _page(client, inspector, device)


def test_the_retry_runs_on_the_beat_schedule():
    assert celery_app.conf.beat_schedule["assets-anchors-retry"]["task"] == "assets.tasks.anchors_retry_due"
    assert task_named("assets.tasks.anchors_retry_due") is tasks.anchors_retry_due
    assert tasks.anchors_retry_due.apply().get() == 0

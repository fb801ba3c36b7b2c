"""The contract the tokens app relies on: a certified device's anchor hashes are the SHA-256
of the documents people can download, the anchor is recorded and shown publicly, and the
device becomes tokenized."""

import hashlib

import pytest

from assets import selectors, services
from assets.models import DeviceStatus

pytestmark = pytest.mark.django_db


def test_anchor_hashes_match_downloads_and_verify_page_shows_anchor(client, clinic_device_factory):
    device, admin = clinic_device_factory("certified")
    cert_hash, appraisal_hash = selectors.device_anchor_hashes(device=device)
    cert = selectors.device_current_certification(device=device)

    public_pdf = b"".join(client.get(f"/verify/{cert.public_id}/certificate.pdf").streaming_content)
    assert hashlib.sha256(public_pdf).hexdigest() == cert_hash
    client.force_login(admin)
    appraisal = selectors.device_signed_appraisal(device=device)
    report = b"".join(client.get(f"/devices/{device.pk}/appraisals/{appraisal.pk}/report.pdf").streaming_content)
    assert hashlib.sha256(report).hexdigest() == appraisal_hash
    client.logout()

    tx = "0x" + "ef" * 32
    services.certificate_record_anchor(actor=None, device=device, tx_hash=tx, block_number=99, chain_id=31337,
                                       registry_address="0x" + "33" * 20)
    services.certificate_record_anchor(actor=None, device=device, tx_hash=tx, block_number=99, chain_id=31337,
                                       registry_address="0x" + "33" * 20)  # idempotent on retry
    services.device_mark_tokenized(actor=None, device=device)
    device.refresh_from_db()
    assert device.status == DeviceStatus.TOKENIZED

    html = client.get(f"/verify/{device.pk}/").content.decode()
    assert "Tokenized" in html and tx in html and "block 99" in html
    assert selectors.device_anchor_hashes(device=device) == (cert_hash, appraisal_hash)


def test_uncertified_device_has_no_anchor_hashes(clinic_device_factory):
    from core.errors import ApplicationError

    device, _ = clinic_device_factory("appraised")
    with pytest.raises(ApplicationError) as e:
        selectors.device_anchor_hashes(device=device)
    assert e.value.code == "not_certified"
    with pytest.raises(ApplicationError):
        services.certificate_record_anchor(actor=None, device=device, tx_hash="0x1", block_number=1,
                                           chain_id=1, registry_address="0x0")

"""Certification anchors the certificate and appraisal PDF hashes on AssetRegistry (real
anvil, through the outbox), and the public verify page reads the anchor LIVE and says, per
downloaded PDF, whether it matches; when the chain is unreachable it says so. The tokens
contract (hashes, certificate_record_anchor, device_mark_tokenized) keeps working."""

import hashlib
import socket

import pytest

from assets import selectors, services
from assets.models import AnchorStatus, DeviceStatus
from chain import gateway
from chain.models import ChainTransaction, Deployment

pytestmark = pytest.mark.django_db


def _download(client, url) -> bytes:
    r = client.get(url)
    assert r.status_code == 200, url
    return b"".join(r.streaming_content)


def test_anchor_hashes_match_downloads_and_verify_page_shows_tokenization_anchor(client, clinic_device_factory):
    device, _ = clinic_device_factory("certified")
    cert_hash, appraisal_hash = selectors.device_anchor_hashes(device=device)

    assert hashlib.sha256(_download(client, f"/verify/{device.public_ref}/certificate.pdf")).hexdigest() == cert_hash
    assert hashlib.sha256(_download(client, f"/verify/{device.public_ref}/appraisal.pdf")).hexdigest() \
        == appraisal_hash

    tx = "0x" + "ef" * 32
    services.certificate_record_anchor(actor=None, device=device, tx_hash=tx, block_number=99, chain_id=31337,
                                       registry_address="0x" + "33" * 20)
    services.certificate_record_anchor(actor=None, device=device, tx_hash=tx, block_number=99, chain_id=31337,
                                       registry_address="0x" + "33" * 20)  # idempotent on retry
    services.device_mark_tokenized(actor=None, device=device)
    device.refresh_from_db()
    assert device.status == DeviceStatus.TOKENIZED

    html = client.get(f"/verify/{device.public_ref}/").content.decode()
    assert "Tokenized" in html and tx in html and "block 99" in html
    assert client.get(f"/verify/{device.pk}/").status_code == 404
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


@pytest.mark.chain
def test_certified_device_is_anchored_and_verify_reads_the_chain_live(chain_ready, clinic_device_factory,
                                                                      drain_outbox, client, settings):
    device, _ = clinic_device_factory("certified")
    assert device.anchor_status == AnchorStatus.PENDING
    drain_outbox()
    device.refresh_from_db()
    assert device.anchor_status == AnchorStatus.ANCHORED, device.anchor_error
    row = ChainTransaction.objects.get(idempotency_key=f"assets.anchor:{device.pk}:1")
    assert row.status == ChainTransaction.Status.CONFIRMED and device.anchor_tx_hash == row.tx_hash

    cert_hash, appraisal_hash = selectors.device_anchor_hashes(device=device)
    onchain = gateway.call("AssetRegistry", chain_ready["AssetRegistry"], "anchorOf", device.chain_anchor_id)
    assert onchain[0] == "0x" + cert_hash and onchain[1] == "0x" + appraisal_hash and onchain[3] == 1

    url = f"/verify/{device.public_ref}/"
    html = client.get(url).content.decode()
    assert html.count("Matches the on-chain anchor") == 2 and "Does NOT match" not in html
    assert "revision 1" in html and device.anchor_tx_hash in html and f"block {device.anchor_block_number}" in html
    api = client.get(f"/api/v1/devices/verify/{device.public_ref}/").json()["onchain"]
    assert api["state"] == "read" and [d["match"] for d in api["documents"]] == [True, True]
    for doc in api["documents"]:  # the file behind each download link is the one that was hashed
        assert hashlib.sha256(_download(client, doc["download_url"])).hexdigest() == doc["onchain_sha256"]

    # Someone swaps the stored appraisal report: the page notices, per document.
    appraisal = selectors.device_signed_appraisal(device=device)
    with appraisal.report_pdf.open("wb") as f:
        f.write(b"%PDF-1.4 tampered")
    html = client.get(url).content.decode()
    assert html.count("Matches the on-chain anchor") == 1 and "Does NOT match the on-chain anchor" in html

    # The node goes away: no fake "verified", an honest "unreachable".
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        settings.CHAIN_RPC_URL = f"http://127.0.0.1:{s.getsockname()[1]}"
    html = client.get(url).content.decode()
    assert "Chain unreachable" in html and "Matches the on-chain anchor" not in html
    assert "Not checked: chain unreachable" in html


@pytest.mark.chain
def test_failed_anchoring_is_retried_by_a_platform_admin(chain_ready, clinic_device_factory, drain_outbox,
                                                         api_as, platform_admin, client):
    registry = Deployment.objects.get(chain_id=31337, name="AssetRegistry")
    registry.delete()  # the registry is missing when the device is certified
    device, _ = clinic_device_factory("certified")
    assert device.anchor_status == AnchorStatus.FAILED and device.anchor_attempt == 1
    html = client.get(f"/verify/{device.public_ref}/").content.decode()
    assert "Matches the on-chain anchor" not in html

    Deployment.objects.create(chain_id=31337, name="AssetRegistry", address=registry.address)
    r = api_as(platform_admin).post(f"/api/v1/devices/{device.pk}/anchor/retry/")
    assert r.status_code == 200 and r.json()["anchor_attempt"] == 2
    drain_outbox()
    device.refresh_from_db()
    assert device.anchor_status == AnchorStatus.ANCHORED, device.anchor_error
    assert ChainTransaction.objects.filter(kind="assets.anchor", args__0=device.chain_anchor_id).count() == 1
    html = client.get(f"/verify/{device.public_ref}/").content.decode()
    assert html.count("Matches the on-chain anchor") == 2

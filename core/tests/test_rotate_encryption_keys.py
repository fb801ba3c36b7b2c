"""`manage.py rotate_encryption_keys` re-encrypts every encrypted value under the newest key,
so the old key can be removed afterwards (issue 9, item 10)."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command

from core import crypto
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _encrypted_values():
    from compliance.models import KycDocument, Wallet
    from telemetry.models import DeviceCredential

    texts = [w.encrypted_private_key for w in Wallet.objects.exclude(encrypted_private_key="")]
    texts += [c.secret_encrypted for c in DeviceCredential.objects.all()]
    files = [d.file for d in KycDocument.objects.exclude(file="")]
    return texts, files


def test_every_encrypted_field_is_known_to_the_rotation():
    listed = {(label, field) for label, field, _ in crypto.ENCRYPTED_FIELDS}
    found = {(m._meta.label, f.name) for m in apps.get_models() for f in m._meta.get_fields()
             if "encrypt" in f.name}
    assert found <= listed


def test_rotation_reencrypts_everything_under_the_newest_key(settings, identity_registry_row):
    from compliance.models import Wallet
    from compliance.tests.factories import make_case
    from telemetry.models import DeviceCredential
    from tokens.tests.factories import make_certified_device

    old = settings.FIELD_ENCRYPTION_KEYS[0]
    make_case(status="approved")  # KYC documents (encrypted files) and a custodial wallet key
    device = make_certified_device()
    DeviceCredential.objects.create(device=device, key_id="dk_rot", secret_encrypted=crypto.encrypt_str("s3cret"))
    texts, files = _encrypted_values()
    assert len(texts) >= 2 and len(files) >= 1
    plain_texts = [crypto.decrypt_str(t) for t in texts]
    plain_files = [crypto.decrypt_bytes(f.open("rb").read()) for f in files]

    new = crypto.generate_key()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_encryption_keys", "--dry-run", stdout=out)
    assert "to re-encrypt" in out.getvalue()
    call_command("rotate_encryption_keys", stdout=out)
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone: everything still decrypts
    texts, files = _encrypted_values()
    assert [crypto.decrypt_str(t) for t in texts] == plain_texts
    assert [crypto.decrypt_bytes(f.open("rb").read()) for f in files] == plain_files
    assert Wallet.objects.exclude(encrypted_private_key="").exists()
    assert AuditEvent.objects.filter(action="core.encryption_keys_rotated").count() == 1

    again = io.StringIO()
    call_command("rotate_encryption_keys", stdout=again)  # a repeated run has nothing left to do
    assert all(line.endswith(": 0 re-encrypted") for line in again.getvalue().splitlines())

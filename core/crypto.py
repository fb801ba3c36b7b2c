"""Encryption at rest for secrets and personal documents (Fernet: AES-128-CBC + HMAC).
Keys come from settings.FIELD_ENCRYPTION_KEYS; the first encrypts, all decrypt (rotation)."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_bytes(data: bytes) -> bytes:
    return _current().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _current().decrypt(token)
    except InvalidToken as exc:
        raise ValueError("Cannot decrypt: wrong key or tampered data.") from exc


def encrypt_str(value: str) -> str:
    return encrypt_bytes(value.encode()).decode()


def decrypt_str(token: str) -> str:
    return decrypt_bytes(token.encode()).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()


# Every value encrypted with these keys, for `manage.py rotate_encryption_keys`:
# (model label, field, "text" = a Fernet token in a text column | "file" = an encrypted file).
ENCRYPTED_FIELDS = (
    ("telemetry.DeviceCredential", "secret_encrypted", "text"),
    ("compliance.Wallet", "encrypted_private_key", "text"),
    ("compliance.KycDocument", "file", "file"),
)


def is_current(token: bytes) -> bool:
    """Encrypted under the newest key (the first): nothing to rotate."""
    keys = settings.FIELD_ENCRYPTION_KEYS
    try:
        Fernet(keys[0].encode() if isinstance(keys[0], str) else keys[0]).decrypt(token)
    except InvalidToken:
        return False
    return True


def rotate_bytes(token: bytes) -> bytes:
    """Decrypt with any configured key and encrypt again under the newest one."""
    try:
        return _current().rotate(token)
    except InvalidToken as exc:
        raise ValueError("Cannot decrypt: wrong key or tampered data.") from exc

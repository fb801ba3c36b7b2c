"""Investor eligibility on chain: the IdentityRegistry writes compliance asks the chain
port for (always through the outbox) and the live read shown to the investor.

Identity address: every wallet of an investor maps to one deterministic address,
keccak256("medrwa:investor-identity:" + KYC_IDENTITY_SALT + ":" + profile id)[-20 bytes],
stored on the profile when first derived so a later salt change never moves an investor.
"""

from __future__ import annotations

import logging

from django.conf import settings
from eth_utils import keccak, to_checksum_address

from core.errors import ApplicationError

logger = logging.getLogger(__name__)

REGISTRY = "IdentityRegistry"
# A KYC expiry long past (0 means "never expires" to the registry): the wallet is on hold.
SUSPENDED_EXPIRY = 1


def derive_identity_address(profile_id: int) -> str:
    salt = getattr(settings, "KYC_IDENTITY_SALT", "medrwa-identity-v1")
    digest = keccak(text=f"medrwa:investor-identity:{salt}:{profile_id}")
    return to_checksum_address(digest[-20:])


def registry_address() -> str:
    from chain.selectors import deployment_address

    try:
        address = deployment_address(REGISTRY)
    except Exception as exc:
        raise ApplicationError(
            "identity_registry_missing",
            "The identity registry is not deployed yet, so approvals cannot be recorded on chain. "
            "Run `manage.py chain_bootstrap` first.", status=503,
        ) from exc
    if not address:
        raise ApplicationError("identity_registry_missing", "The identity registry is not deployed yet.", status=503)
    return address


def _enqueue(*, actor, key: str, kind: str, function: str, args: list, reason: str):
    from chain.services import outbox_enqueue

    return outbox_enqueue(actor=actor, idempotency_key=key, kind=kind, contract_name=REGISTRY,
                          function=function, args=args, to_address=registry_address(), reason=reason)


def register_wallet(*, actor, case, wallet, reason: str = "KYC approved"):
    """One transaction per wallet: registration and KYC expiry (the registry keeps the
    expiry per wallet, packed with the identity and country)."""
    profile = case.profile
    row = _enqueue(actor=actor, key=f"kyc:{case.pk}:register:{wallet.address}", kind="identity.register",
                   function="registerIdentityWithExpiry",
                   args=[wallet.address, profile.identity_address, int(profile.residence_country_numeric or 0),
                         int(case.expires_at.timestamp())],
                   reason=reason)
    wallet.registered_on_chain = True
    wallet.save(update_fields=["registered_on_chain", "updated_at"])
    return row


def set_expiry(*, actor, case, wallets, expires_at_unix: int, key_suffix: str, reason: str):
    """Renew or end the KYC validity of already registered wallets in one transaction."""
    addresses = [w.address for w in wallets]
    if not addresses:
        return None
    return _enqueue(actor=actor, key=f"kyc:{case.pk}:{key_suffix}", kind="identity.expiry",
                    function="batchSetKycExpiry", args=[addresses, int(expires_at_unix)], reason=reason)


def remove_wallet(*, actor, case, wallet, reason: str):
    row = _enqueue(actor=actor, key=f"kyc:{case.pk}:delete:{wallet.address}", kind="identity.delete",
                   function="deleteIdentity", args=[wallet.address], reason=reason)
    wallet.registered_on_chain = False
    wallet.save(update_fields=["registered_on_chain", "updated_at"])
    return row


def on_register_final(row) -> None:
    """Chain hook: a registration that failed on chain leaves the wallet unregistered, so the
    next approval registers it again instead of renewing an expiry the registry doesn't hold."""
    if row.status != "failed":
        return
    from compliance.models import Wallet
    from core.services import audit

    wallet = Wallet.objects.filter(address=row.args[0], registered_on_chain=True).first()
    if wallet is None:
        return
    wallet.registered_on_chain = False
    wallet.save(update_fields=["registered_on_chain", "updated_at"])
    audit(actor=None, action="compliance.wallet_registration_failed", obj=wallet,
          after={"tx": row.idempotency_key, "error": row.error[:200]})


def wallet_outbox_rows(wallet) -> list:
    """The wallet's latest registry transactions, newest first, including the batch expiry
    writes (renewal, expiry, hold) that name it among the investor's wallets."""
    from django.db.models import Q

    from chain.models import ChainTransaction

    q = Q(args__0=wallet.address)
    for case_id in wallet.profile.cases.values_list("pk", flat=True):
        q |= Q(function="batchSetKycExpiry", idempotency_key__startswith=f"kyc:{case_id}:")
    rows = ChainTransaction.objects.filter(q, contract_name=REGISTRY).order_by("-created_at", "-id")[:20]
    return [r for r in rows if r.args and (r.args[0] == wallet.address or wallet.address in r.args[0])][:5]


_OUTBOX_NOUNS = {"registerIdentityWithExpiry": ("Registration", "Registered"),
                 "batchSetKycExpiry": ("KYC expiry update", "KYC expiry updated"),
                 "deleteIdentity": ("Removal", "Removed from the registry")}


def outbox_state_label(row) -> str:
    """What an investor or officer reads for a wallet's latest registry transaction:
    queued (not yet effective) vs confirmed on chain vs failed."""
    if row is None:
        return "Not registered"
    noun, done = _OUTBOX_NOUNS.get(row.function, (row.function, row.function))
    if row.function == "batchSetKycExpiry" and int(row.args[1]) == SUSPENDED_EXPIRY:
        noun, done = "Suspension", "Suspended"
    if row.status == "confirmed":
        return f"{done} (confirmed on chain)"
    if row.status == "failed":
        return f"{noun} failed on chain"
    return f"{noun} pending: waiting for the blockchain"


def live_is_verified(address: str) -> bool | None:
    """A live `isVerified` read, or None when the chain (or the registry) is unreachable."""
    try:
        from chain import gateway

        if not gateway.is_available():
            return None
        return bool(gateway.call(REGISTRY, registry_address(), "isVerified", address))
    except Exception:
        logger.info("isVerified read failed for %s", address, exc_info=True)
        return None

"""Investor eligibility on chain: the IdentityRegistry writes compliance asks the chain
port for (always through the outbox) and the live read shown to the investor.

Identity address: every wallet of an investor maps to one deterministic address,
keccak256("medrwa:investor-identity:" + KYC_IDENTITY_SALT + ":" + profile id)[-20 bytes],
stored on the profile when first derived so a later salt change never moves an investor.
The reactions to those writes becoming final are in `compliance.chain_hooks`.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext
from eth_utils import keccak, to_checksum_address

from chain import gateway
from chain.models import ChainTransaction
from chain.selectors import deployment_address
from chain.services import outbox_enqueue
from compliance.models import InvestorProfile
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
    try:
        address = deployment_address(REGISTRY)
    except Exception as exc:
        raise ApplicationError(
            "identity_registry_missing",
            gettext("The identity registry is not deployed yet, so approvals cannot be recorded on chain. "
            "Run `manage.py chain_bootstrap` first."), status=503,
        ) from exc
    if not address:
        raise ApplicationError("identity_registry_missing", gettext("The identity registry is not deployed yet."),
            status=503)
    return address


REGISTER_FUNCTIONS = ("registerIdentityWithExpiry", "registerIdentity")


def _profile_rows(profile):
    """Every registry write decided for this investor (keys are `kyc:<case id>:…`)."""
    q = Q(pk__in=[])
    for case_id in profile.cases.values_list("pk", flat=True):
        q |= Q(idempotency_key__startswith=f"kyc:{case_id}:")
    return ChainTransaction.objects.filter(q, contract_name=REGISTRY)


def last_write(profile):
    """The investor's newest registry write that can still take effect (not failed): the
    next write is ordered after it, so the chain applies them in the order decided."""
    return _profile_rows(profile).exclude(status="failed").order_by("-id").first()


def _enqueue(*, actor, profile, key: str, kind: str, function: str, args: list, reason: str):
    # One writer at a time per investor, so two decisions never pick the same predecessor.
    InvestorProfile.objects.select_for_update().filter(pk=profile.pk).first()
    return outbox_enqueue(actor=actor, idempotency_key=key, kind=kind, contract_name=REGISTRY,
                          function=function, args=args, to_address=registry_address(), reason=reason,
                          after=last_write(profile))


def wallet_intends_registered(wallet) -> bool:
    """Whether the registry holds (or will hold, once queued writes land) this wallet: its
    newest register/delete write that has not failed decides."""
    row = (ChainTransaction.objects.filter(contract_name=REGISTRY, args__0=wallet.address,
                                           function__in=[*REGISTER_FUNCTIONS, "deleteIdentity"])
           .exclude(status="failed").order_by("-id").first())
    return row is not None and row.function != "deleteIdentity"


def register_wallet(*, actor, case, wallet, reason: str = "KYC approved", key_suffix: str = ""):
    """One transaction per wallet: registration and KYC expiry (the registry keeps the
    expiry per wallet, packed with the identity and country). `registered_on_chain` is set
    by the confirmation hook, not here."""
    profile = case.profile
    return _enqueue(actor=actor, profile=profile, key=f"kyc:{case.pk}:register:{wallet.address}{key_suffix}",
                    kind="identity.register", function="registerIdentityWithExpiry",
                    args=[wallet.address, profile.identity_address, int(profile.residence_country_numeric or 0),
                          int(case.expires_at.timestamp())],
                    reason=reason)


def set_expiry(*, actor, case, wallets, expires_at_unix: int, key_suffix: str, reason: str):
    """Renew, end or suspend the KYC validity of registered wallets in one transaction."""
    addresses = [w.address for w in wallets]
    if not addresses:
        return None
    return _enqueue(actor=actor, profile=case.profile, key=f"kyc:{case.pk}:{key_suffix}", kind="identity.expiry",
                    function="batchSetKycExpiry", args=[addresses, int(expires_at_unix)], reason=reason)


def update_country(*, actor, case, wallet, country: int, reason: str):
    return _enqueue(actor=actor, profile=case.profile, key=f"kyc:{case.pk}:country:{wallet.address}",
                    kind="identity.country", function="updateCountry", args=[wallet.address, int(country)],
                    reason=reason)


def remove_wallet(*, actor, case, wallet, reason: str, key_suffix: str = ""):
    return _enqueue(actor=actor, profile=case.profile, key=f"kyc:{case.pk}:delete:{wallet.address}{key_suffix}",
                    kind="identity.delete", function="deleteIdentity", args=[wallet.address], reason=reason)


def wallet_outbox_rows(wallet) -> list:
    """The wallet's latest registry transactions, newest first, including the batch expiry
    writes (renewal, expiry, hold) that name it among the investor's wallets."""
    q = Q(args__0=wallet.address)
    for case_id in wallet.profile.cases.values_list("pk", flat=True):
        q |= Q(function="batchSetKycExpiry", idempotency_key__startswith=f"kyc:{case_id}:")
    rows = ChainTransaction.objects.filter(q, contract_name=REGISTRY).order_by("-created_at", "-id")[:20]
    return [r for r in rows if r.args and (r.args[0] == wallet.address or wallet.address in r.args[0])][:5]


_OUTBOX_NOUNS = {"registerIdentityWithExpiry": ("Registration", "Registered"),
                 "batchSetKycExpiry": ("KYC expiry update", "KYC expiry updated"),
                 "deleteIdentity": ("Removal", "Removed from the registry"),
                 "updateCountry": ("Country update", "Country updated")}


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


def live_contains(address: str) -> bool | None:
    """Whether the registry holds the wallet now, or None when the chain is unreachable."""
    try:
        if not gateway.is_available():
            return None
        return bool(gateway.call(REGISTRY, registry_address(), "contains", address))
    except Exception:
        logger.info("contains read failed for %s", address, exc_info=True)
        return None


def live_is_verified(address: str) -> bool | None:
    """A live `isVerified` read, or None when the chain (or the registry) is unreachable."""
    try:
        if not gateway.is_available():
            return None
        return bool(gateway.call(REGISTRY, registry_address(), "isVerified", address))
    except Exception:
        logger.info("isVerified read failed for %s", address, exc_info=True)
        return None

"""Reactions to the IdentityRegistry writes of `compliance.onchain` becoming final (registered
in ComplianceConfig.ready): a confirmed registration or removal marks the wallet, a failed
write is surfaced in the case's log and, for a removal, suspension or end of validity,
compensated by a resync."""

from __future__ import annotations

from compliance.models import KycCase, KycDecision, Wallet
from compliance.services import investor_registry_resync
from core.services import audit


def _wallet_for(row):
    return Wallet.objects.filter(address=row.args[0]).select_related("profile").first() if row.args else None


def _case_for(row):
    try:
        case_id = int(row.idempotency_key.split(":")[1])
    except (IndexError, ValueError):
        return None
    return KycCase.objects.filter(pk=case_id).select_related("profile").first()


def _surface_failure(row) -> None:
    """A failed registry write is written into the case's decision log and the audit trail;
    the review queue lists the investor until a later write succeeds (see selectors)."""
    case = _case_for(row)
    if case is None:
        return
    KycDecision.objects.create(case=case, actor=None, actor_label="system", action="registry_write_failed",
                               reason=f"{row.function} failed on chain: {(row.error or 'unknown error')[:300]}")
    audit(actor=None, action="compliance.registry_write_failed", obj=case,
          after={"tx": row.idempotency_key, "function": row.function, "error": (row.error or "")[:200]})


def on_register_final(row) -> None:
    """Chain hook: the wallet counts as registered only once the registration is confirmed."""
    if row.status == "failed":
        _surface_failure(row)
        return
    wallet = _wallet_for(row)
    if wallet is not None and not wallet.registered_on_chain:
        wallet.registered_on_chain = True
        wallet.save(update_fields=["registered_on_chain", "updated_at"])


def on_delete_final(row) -> None:
    """Chain hook: a confirmed removal unmarks the wallet; a failed one is surfaced and
    compensated at once (a revoked investor must not stay verified)."""
    if row.status == "failed":
        _surface_failure(row)
        _compensate(row)
        return
    wallet = _wallet_for(row)
    if wallet is not None and wallet.registered_on_chain:
        wallet.registered_on_chain = False
        wallet.save(update_fields=["registered_on_chain", "updated_at"])


def on_write_final(row) -> None:
    """Chain hook for expiry and country writes: failures are surfaced; a failed suspension
    or end of validity is compensated like a failed removal."""
    if row.status != "failed":
        return
    _surface_failure(row)
    if row.function == "batchSetKycExpiry":
        _compensate(row)


MAX_AUTO_RESYNC = 2


def _compensate(row) -> None:
    level = row.idempotency_key.count(":auto")
    if level >= MAX_AUTO_RESYNC:
        return  # give up after a few tries: the failure stays listed for an officer
    case = _case_for(row)
    if case is None:
        return
    tag = ":".join(["auto"] * (level + 1)) + str(row.pk)
    investor_registry_resync(actor=None, profile=case.profile, key_tag=tag, officer_check=False)

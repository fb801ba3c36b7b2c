"""Officer controls after launch: a compliance officer changes a live token's compliance
parameters (supply cap, max balance per wallet, holder cap, lock-up) and its allowed
countries, with a mandatory reason, audited, through the outbox (the operator owns the
token: `setComplianceParams`, then `setCountriesAllowed(added, true)`, then
`setCountriesAllowed(removed, false)`, each ordered after the one before). The Offering's
stored terms follow only when the last call is confirmed (`on_change_final`), so the app
never states a rule the chain does not enforce.

Holder cap: the contract counts wallets (every address with a non-zero balance), so the app
counts wallets too — `holder_wallets` is what the primary sale checks (tokens.primary.services), and
the market relies on the token's own `detectTransferRestriction`, which counts the same."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from chain import gateway
from chain.services import outbox_enqueue
from core.errors import ApplicationError
from core.permissions import Role, user_has_role
from core.services import audit
from tokens.models import ComplianceChange, Offering, OfferingStatus
from tokens.offerings.services import lockup_ts

TOKEN = "SecurityToken"  # noqa: S105 - a contract name
C = ComplianceChange.Status


def stored_terms(offering: Offering) -> dict:
    return {"supply_cap": offering.units, "max_per_investor": offering.max_per_investor,
            "holder_cap": offering.holder_cap,
            "lockup_until": offering.lockup_until.isoformat() if offering.lockup_until else None,
            "allowed_countries": sorted(int(c) for c in offering.allowed_countries or [])}


def chain_terms(offering: Offering) -> dict | None:
    """The token's own parameters, read live (None when the node cannot be reached)."""
    try:
        supply_cap, max_balance, max_holders, lockup, restricted = gateway.call(
            TOKEN, offering.token_address, "complianceParams")
        holders = int(gateway.call(TOKEN, offering.token_address, "holderCount"))
        supply = int(gateway.call(TOKEN, offering.token_address, "totalSupply"))
    except gateway.ChainUnavailable:
        return None
    return {"supply_cap": int(supply_cap), "max_per_investor": int(max_balance), "holder_cap": int(max_holders),
            "lockup_until": (dt.datetime.fromtimestamp(int(lockup), dt.UTC).date().isoformat() if lockup else None),
            "country_restricted": bool(restricted), "holders": holders, "total_supply": supply}


def _require_officer(actor) -> None:
    if not user_has_role(actor, Role.COMPLIANCE_OFFICER):
        raise ApplicationError("forbidden", gettext("Only a compliance officer can change compliance parameters."),
                               status=403)


def _int(value, field: str, errors: dict, *, minimum: int = 1, maximum: int = 2**64 - 1) -> int | None:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = None
    if n is None or not (minimum <= n <= maximum):
        errors[field] = [gettext("Enter a whole number from %(lo)s to %(hi)s.") % {"lo": minimum, "hi": maximum}]
        return None
    return n


def _countries(value, errors: dict) -> list[int]:
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    out = set()
    for v in value or []:
        try:
            c = int(str(v).strip())
        except ValueError:
            c = 0
        if not 1 <= c <= 999:
            errors["allowed_countries"] = [gettext("Use ISO 3166-1 numeric codes (1–999), separated by commas.")]
            return []
        out.add(c)
    return sorted(out)


def _lockup(value, errors: dict) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            errors["lockup_until"] = [gettext("Enter a date (YYYY-MM-DD) or leave it empty for no lock-up.")]
            return None
    if day < timezone.localdate():
        errors["lockup_until"] = [gettext("The lock-up end cannot be in the past; leave it empty to lift it.")]
    return day


@transaction.atomic
def compliance_change_request(*, actor, offering: Offering, supply_cap, max_per_investor, holder_cap,
                              lockup_until=None, allowed_countries=(), reason: str) -> ComplianceChange:
    """Validate against the token's live state (caps below the current supply or holder count
    would revert), then enqueue the calls; the stored terms follow on confirmation."""
    _require_officer(actor)
    offering = Offering.objects.select_for_update().get(pk=offering.pk)
    if offering.status != OfferingStatus.LIVE or not offering.token_address:
        raise ApplicationError("not_live", gettext("Only a live token's parameters can be changed."), status=409)
    if ComplianceChange.objects.filter(offering=offering, status=C.PENDING).exists():
        raise ApplicationError("change_pending", gettext(
            "A change of this token's parameters is still being confirmed on chain; wait for it."), status=409)
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [gettext("A reason is required; it is kept in the audit log.")]
    supply = _int(supply_cap, "supply_cap", errors)
    per = _int(max_per_investor, "max_per_investor", errors)
    cap = _int(holder_cap, "holder_cap", errors, maximum=2**32 - 1)
    lockup = _lockup(lockup_until, errors)
    countries = _countries(allowed_countries, errors)
    live = chain_terms(offering)
    if live is None:
        raise ApplicationError("chain_unavailable", gettext(
            "The chain cannot be reached to check the token's current supply and holders; try again."), status=503)
    if supply is not None and supply < live["total_supply"]:
        errors["supply_cap"] = [gettext("At least %(n)s: units already issued.") % {"n": live["total_supply"]}]
    elif supply is not None and supply > offering.units:
        # More units would dilute the holders: a change of the terms they bought on, refused.
        errors["supply_cap"] = [gettext("At most %(n)s: raising the supply would dilute the holders.") % {
            "n": offering.units}]
    if cap is not None and cap < live["holders"]:
        errors["holder_cap"] = [gettext("At least %(n)s: wallets already holding units.") % {"n": live["holders"]}]
    if per is not None and supply is not None and per > supply:
        errors["max_per_investor"] = [gettext("Cannot exceed the supply cap.")]
    if errors:
        raise ApplicationError("invalid_params", gettext("Please correct the parameters."), details=errors)
    before = stored_terms(offering)
    change = ComplianceChange(offering=offering, actor=actor, reason=reason, supply_cap=supply, max_per_investor=per,
                              holder_cap=cap, lockup_until=lockup, allowed_countries=countries, before=before)
    change.full_clean()
    change.save()
    key = f"tokens.compliance:{change.pk}"
    added = sorted(set(countries) - set(before["allowed_countries"]))
    removed = sorted(set(before["allowed_countries"]) - set(countries))
    calls = [("setComplianceParams", [supply, per, cap, lockup_ts(lockup), bool(countries)])]
    if added:
        calls.append(("setCountriesAllowed", [added, True]))
    if removed:
        calls.append(("setCountriesAllowed", [removed, False]))
    row = None
    for i, (function, args) in enumerate(calls):
        last = i == len(calls) - 1
        row = outbox_enqueue(actor=actor, idempotency_key=f"{key}:{i}:{function}",
                             kind="tokens.compliance_change" if last else "tokens.compliance_step",
                             contract_name=TOKEN, function=function, args=args, to_address=offering.token_address,
                             sender="operator", reason=reason, after=row)
    change.chain_tx = row
    change.save(update_fields=["chain_tx", "updated_at"])
    audit(actor=actor, action="tokens.compliance_change_request", obj=offering, reason=reason, before=before,
          after={**stored_terms_of(change), "change": change.pk, "outbox": row.pk})
    return change


def stored_terms_of(change: ComplianceChange) -> dict:
    return {"supply_cap": change.supply_cap, "max_per_investor": change.max_per_investor,
            "holder_cap": change.holder_cap,
            "lockup_until": change.lockup_until.isoformat() if change.lockup_until else None,
            "allowed_countries": list(change.allowed_countries)}


def on_change_final(row) -> None:
    """chain hook: the Offering takes the new terms only once the chain confirmed them all."""
    for change in ComplianceChange.objects.select_for_update().filter(chain_tx=row, status=C.PENDING):
        offering = Offering.objects.select_for_update().get(pk=change.offering_id)
        if row.status == row.Status.CONFIRMED:
            before = stored_terms(offering)
            offering.units = change.supply_cap
            offering.max_per_investor = change.max_per_investor
            offering.holder_cap = change.holder_cap
            offering.lockup_until = change.lockup_until
            offering.allowed_countries = list(change.allowed_countries)
            offering.save(update_fields=["units", "max_per_investor", "holder_cap", "lockup_until",
                                         "allowed_countries", "updated_at"])
            change.status = C.APPLIED
            change.save(update_fields=["status", "updated_at"])
            audit(actor=None, action="tokens.compliance_change_applied", obj=offering, reason=change.reason,
                  before=before, after={**stored_terms(offering), "change": change.pk, "tx_hash": row.tx_hash})
        else:
            change.status = C.FAILED
            change.error = row.error or gettext("The chain refused the change.")
            change.save(update_fields=["status", "error", "updated_at"])
            _adopt_chain_terms(offering, change)
            audit(actor=None, action="tokens.compliance_change_failed", obj=offering, reason=change.reason,
                  after={"change": change.pk, "error": change.error})


def _adopt_chain_terms(offering: Offering, change: ComplianceChange) -> None:
    """A change that failed part-way (the parameters set, a country call refused) leaves the
    chain enforcing something between the old and the new terms: the Offering then states
    what the chain holds, never a rule the chain does not enforce."""
    live = chain_terms(offering)
    if live is None:
        return  # read again on the next change; the failure is shown on the page meanwhile
    before = stored_terms(offering)
    countries = sorted(int(c) for c in {*offering.allowed_countries, *change.allowed_countries}
                       if gateway.call(TOKEN, offering.token_address, "isCountryAllowed", int(c))) \
        if live["country_restricted"] else []
    if 0 < live["supply_cap"] < offering.units:  # a cap is only ever lowered (see the request check)
        offering.units = live["supply_cap"]
    offering.max_per_investor, offering.holder_cap = live["max_per_investor"], live["holder_cap"]
    offering.lockup_until = dt.date.fromisoformat(live["lockup_until"]) if live["lockup_until"] else None
    offering.allowed_countries = countries
    offering.save(update_fields=["units", "max_per_investor", "holder_cap", "lockup_until", "allowed_countries",
                                 "updated_at"])
    if stored_terms(offering) != before:
        audit(actor=None, action="tokens.compliance_change_partial", obj=offering, reason=change.reason,
              before=before, after={**stored_terms(offering), "change": change.pk})


def changes_for(offering: Offering) -> list[ComplianceChange]:
    return list(ComplianceChange.objects.filter(offering=offering).select_related("actor", "chain_tx")[:50])

"""Compliance writes: investor profile, wallets, KYC cases (one service per transition),
sanctions screening, on-chain eligibility and retention."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from decimal import Decimal
from pathlib import Path

import pycountry
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, to_checksum_address

from accounts.models import Membership
from compliance import hooks, onchain, sanctions, selectors
from compliance.models import (
    InvestorProfile,
    KycCase,
    KycDecision,
    KycDocument,
    SanctionsAlias,
    SanctionsCountry,
    SanctionsDob,
    SanctionsEntry,
    SanctionsListLoad,
    ScreeningHit,
    Wallet,
    WalletChallenge,
)
from compliance.pdf import case_file_pdf
from core.crypto import decrypt_bytes, encrypt_bytes, encrypt_str
from core.errors import ApplicationError, check_transition
from core.models import AuditEvent
from core.permissions import Role, user_has_role
from core.services import audit
from notifications.models import Category as NoticeCategory
from notifications.services import notify, staff_members

logger = logging.getLogger(__name__)

S = KycCase.Status
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.SUBMITTED},
    S.SUBMITTED: {S.IN_REVIEW},
    S.IN_REVIEW: {S.APPROVED, S.REJECTED, S.NEEDS_MORE_INFO},
    S.NEEDS_MORE_INFO: {S.SUBMITTED},
    S.APPROVED: {S.EXPIRED, S.REVOKED, S.SUPERSEDED},
    S.REJECTED: set(),
    S.EXPIRED: set(),
    S.REVOKED: set(),
    S.SUPERSEDED: set(),
}
OPEN_STATES = {S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.NEEDS_MORE_INFO}
# While a case is with the officers (or approved), the profile they judged must not move under them.
LOCKED_STATES = {S.SUBMITTED, S.IN_REVIEW}
SCREENED_STATES = {S.SUBMITTED, S.IN_REVIEW, S.NEEDS_MORE_INFO, S.APPROVED}
REQUIRED_DOCUMENTS = (KycDocument.Kind.IDENTITY, KycDocument.Kind.PROOF_OF_ADDRESS)
ALLOWED_TYPES = {b"%PDF": "application/pdf", b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}
def _high_risk_threshold() -> int:
    return int(getattr(settings, "KYC_HIGH_RISK_THRESHOLD", 50))


def _renewal_window() -> dt.timedelta:
    return dt.timedelta(days=int(getattr(settings, "KYC_RENEWAL_WINDOW_DAYS", 30)))


# Domains that say nothing about an employer: public mail providers, and the reserved
# names of RFC 2606 / RFC 6762 that no organisation can own (tests, the local demo).
PUBLIC_MAIL_DOMAINS = {"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
                       "icloud.com", "me.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "web.de",
                       "aol.com", "mail.com", "yandex.com", "zoho.com", "fastmail.com"}
RESERVED_SUFFIXES = (".test", ".example", ".invalid", ".localhost", ".local")
# Audit actions by which someone creates an account or gives it its role.
ACCOUNT_CREATION_ACTIONS = ("accounts.investor_signup", "accounts.clinic_signup", "accounts.membership_grant",
                            "accounts.clinic_member_invite", "accounts.user_create")


def _email_domain(user) -> str:
    return (user.email or "").rsplit("@", 1)[-1].lower()


def _organisation_domain(domain: str) -> bool:
    extra = {d.lower() for d in getattr(settings, "KYC_PUBLIC_MAIL_DOMAINS", [])}
    return bool(domain) and domain not in PUBLIC_MAIL_DOMAINS | extra and not domain.endswith(RESERVED_SUFFIXES)


def _created_account(officer, user) -> bool:
    memberships = [str(pk) for pk in Membership.objects.filter(user=user).values_list("pk", flat=True)]
    return AuditEvent.objects.filter(actor=officer, action__in=ACCOUNT_CREATION_ACTIONS).filter(
        Q(object_type="accounts.user", object_id=str(user.pk))
        | Q(object_type="accounts.membership", object_id__in=memberships)).exists()


def _log(*, case: KycCase, actor, action: str, from_status: str = "", to_status: str = "",
         reason: str = "", evidence: list[str] | None = None) -> KycDecision:
    is_user = getattr(actor, "is_authenticated", False)
    return KycDecision.objects.create(
        case=case, actor=actor if is_user else None,
        actor_label=(actor.email if is_user else "system"), action=action,
        from_status=from_status, to_status=to_status, reason=reason, evidence_hashes=evidence or [],
    )


def _tell_investor(case: KycCase, what: str, title, body) -> None:
    # title and body are lazy: notify() renders them in the investor's language.
    # Keyed by the case's saved state: one notice per transition, none for a replayed call.
    notify(recipient=case.profile.user, category=NoticeCategory.KYC, title=title, body=body,
           event_key=f"kyc:{case.pk}:{what}:{case.updated_at.isoformat()}", url="/investor/onboarding/")


def _tell_other_officers(case: KycCase, *, what: str, exclude_ids, title, body) -> int:
    """Four-eyes: the compliance officers who may take the case's next step (not whoever took the
    last one, nor the investor) hear that it waits for them; once per event and officer."""
    people = staff_members(roles=[Role.COMPLIANCE_OFFICER]).exclude(
        pk__in=[case.profile.user_id, *[pk for pk in exclude_ids if pk]])
    return sum(notify(recipient=officer, category=NoticeCategory.KYC, title=title, body=body,
                      event_key=f"kyc:{case.pk}:{what}", url=reverse("compliance:case", args=[case.pk])) is not None
               for officer in people)


def _evidence(case: KycCase) -> list[str]:
    return [d.sha256 for d in case.documents.all()]


def _move(*, case: KycCase, actor, target: str, action: str, reason: str = "") -> str:
    check_transition(entity="KYC case", table=TRANSITIONS, current=case.status, target=target)
    before = case.status
    case.status = target
    _log(case=case, actor=actor, action=action, from_status=before, to_status=target, reason=reason,
         evidence=_evidence(case))
    return before


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ApplicationError("reason_required", gettext("Give a reason (at least a few words) for this decision."),
                               details={"reason": [gettext("A reason is required.")]})
    return reason


def _ensure_officer(actor, case: KycCase) -> None:
    if not user_has_role(actor, Role.COMPLIANCE_OFFICER):
        raise ApplicationError("permission_denied", gettext("Only compliance officers review KYC cases."), status=403)
    investor = case.profile.user
    if investor.pk == actor.pk:
        raise ApplicationError("own_case", gettext("You cannot review your own KYC case; another officer must."),
                               status=403)
    domain = _email_domain(investor)
    if _organisation_domain(domain) and domain == _email_domain(actor):
        raise ApplicationError("conflict_of_interest", gettext(
            "This investor's email belongs to your own organisation (%(domain)s); another officer must review "
            "the case.") % {"domain": domain}, status=403)
    if _created_account(actor, investor):
        raise ApplicationError("conflict_of_interest", gettext("You created this investor's account; another officer "
                               "must review the case."), status=403)


def _lock(case: KycCase) -> KycCase:
    return KycCase.objects.select_for_update().select_related("profile", "profile__user").get(pk=case.pk)


# ------------------------------------------------------------------ profile & wallets

def country_numeric(alpha2: str) -> int:
    country = pycountry.countries.get(alpha_2=(alpha2 or "").upper())
    if country is None:
        raise ApplicationError("invalid_country", gettext("Unknown country code."),
                               details={"residence_country": [gettext("Choose a country from the list.")]})
    return int(country.numeric)  # pycountry gives "092"; the registry wants 92


PROFILE_FIELDS = ("legal_name", "date_of_birth", "residence_country", "address", "investor_type",
                  "accreditation_basis", "accreditation_detail", "tax_residence", "is_pep",
                  "intended_amount", "intended_currency")


@transaction.atomic
def investor_profile_save(*, actor, user, **data) -> InvestorProfile:
    """Create or update the investor's profile; the first save also creates the custodial
    wallet and derives the on-chain identity address."""
    if not user_has_role(user, Role.INVESTOR):
        raise ApplicationError("not_investor", gettext("Only investors have an investor profile."), status=403)
    profile, created = InvestorProfile.objects.select_for_update().get_or_create(user=user)
    if profile.processing_restricted:
        raise ApplicationError("processing_restricted",
                               gettext(
                                   "Your data is restricted after your erasure request; it can no longer be changed."),
                               status=409)
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise ApplicationError("invalid_fields", gettext('Unknown fields: %(join)s.') % {"join": ', '.join(sorted(
            unknown))})
    changed = [k for k, v in data.items() if getattr(profile, k) != v]
    if changed and not created and profile.cases.filter(status__in=LOCKED_STATES).exists():
        raise ApplicationError("profile_locked", gettext("Your profile is read-only while your KYC case is being "
                               "reviewed. Wait for the decision, or for a request for more information."),
                               status=409)
    for k, v in data.items():
        setattr(profile, k, v)
    if profile.intended_amount is not None:
        profile.intended_amount = Decimal(profile.intended_amount)
        if profile.intended_amount < 0:
            raise ApplicationError("invalid_amount", gettext("The intended amount cannot be negative."),
                                   details={"intended_amount": [gettext("Must be zero or more.")]})
    if profile.residence_country:
        profile.residence_country = profile.residence_country.upper()
        profile.residence_country_numeric = country_numeric(profile.residence_country)
    if profile.tax_residence:
        profile.tax_residence = profile.tax_residence.upper()
        if pycountry.countries.get(alpha_2=profile.tax_residence) is None:
            raise ApplicationError("invalid_country", gettext("Unknown tax residence."),
                                   details={"tax_residence": [gettext("Choose a country from the list.")]})
    if profile.date_of_birth and profile.date_of_birth > timezone.localdate():
        raise ApplicationError("invalid_dob", gettext("The date of birth is in the future."),
                               details={"date_of_birth": [gettext("The date of birth is in the future.")]})
    profile.full_clean()
    profile.save()
    if not profile.identity_address:
        profile.identity_address = onchain.derive_identity_address(profile.pk)
        profile.save(update_fields=["identity_address", "updated_at"])
    if created or not profile.wallets.filter(kind=Wallet.Kind.CUSTODIAL).exists():
        _custodial_wallet_create(actor=actor, profile=profile)
    # Field names only: personal values stay out of the (long-lived) audit trail.
    audit(actor=actor, action="compliance.profile_save", obj=profile, after={"changed": sorted(changed)})
    if changed and not created:
        _profile_changed_after_approval(actor=actor, profile=profile, changed=changed)
    return profile


def _profile_changed_after_approval(*, actor, profile: InvestorProfile, changed: list[str]) -> None:
    """An approved investor changed their profile: the approval no longer describes them, so
    a new case opens (or an open renewal becomes a change review) and eligibility is
    suspended, on chain too, until an officer approves it."""
    live = profile.cases.filter(status=S.APPROVED).order_by("-approved_at").first()
    if live is None or not live.is_active_approval:
        return
    open_case = profile.cases.filter(status__in=OPEN_STATES).order_by("-created_at").first()
    if open_case is None:
        open_case = _case_create(actor=actor, profile=profile, purpose=KycCase.Purpose.CHANGE)
    elif open_case.purpose != KycCase.Purpose.CHANGE:
        open_case.purpose = KycCase.Purpose.CHANGE
        open_case.save(update_fields=["purpose", "updated_at"])
    _log(case=open_case, actor=actor, action="profile_changed", reason=f"Changed: {', '.join(sorted(changed))}")
    audit(actor=actor, action="compliance.kyc_suspend_for_change", obj=live, after={"change_case": open_case.pk})
    onchain.set_expiry(actor=actor, case=live, wallets=_registered_wallets(profile),
                       expires_at_unix=onchain.SUSPENDED_EXPIRY, key_suffix=f"change-hold:{open_case.pk}",
                       reason="Profile changed: suspended until the change is approved")


def _custodial_wallet_create(*, actor, profile: InvestorProfile) -> Wallet:
    acct = Account.create()
    key_hex = acct.key.hex()
    wallet = Wallet(profile=profile, address=acct.address, kind=Wallet.Kind.CUSTODIAL,
                    encrypted_private_key=encrypt_str(key_hex if key_hex.startswith("0x") else "0x" + key_hex))
    del acct, key_hex
    wallet.full_clean()
    wallet.save()
    audit(actor=actor, action="compliance.wallet_custodial_create", obj=wallet, after={"address": wallet.address})
    return wallet


SIWE_STATEMENT = "Link this wallet to your MedRWA investor account."


def _challenge_ttl() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "WALLET_CHALLENGE_TTL_SECONDS", 600)))


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@transaction.atomic
def wallet_challenge_create(*, actor, address: str, domain: str, uri: str) -> WalletChallenge:
    """An EIP-4361 sign-in message for `address` with a fresh single-use nonce."""
    if not is_address(address or ""):
        raise ApplicationError("invalid_address", gettext("That is not an Ethereum address."),
                               details={"address": [gettext("Enter a 0x… address of 40 hex digits.")]})
    address = to_checksum_address(address)
    if Wallet.objects.filter(address=address).exists():
        raise ApplicationError("wallet_taken", gettext("This wallet is already linked to an account."),
                               details={"address": [gettext("This wallet is already linked to an account.")]},
                                   status=409)
    now = timezone.now()
    nonce = secrets.token_hex(16)
    expires = now + _challenge_ttl()
    message = (
        f"{domain} wants you to sign in with your Ethereum account:\n{address}\n\n{SIWE_STATEMENT}\n\n"
        f"URI: {uri}\nVersion: 1\nChain ID: {settings.CHAIN_ID}\nNonce: {nonce}\n"
        f"Issued At: {_iso(now)}\nExpiration Time: {_iso(expires)}"
    )
    return WalletChallenge.objects.create(user=actor, address=address, nonce=nonce, message=message,
                                          expires_at=expires)


_SIWE_RE = re.compile(
    r"^(?P<domain>\S+) wants you to sign in with your Ethereum account:\n(?P<address>0x[0-9a-fA-F]{40})\n\n"
    r"(?:(?P<statement>[^\n]*)\n\n)?URI: (?P<uri>\S+)\nVersion: (?P<version>1)\nChain ID: (?P<chain_id>\d+)\n"
    r"Nonce: (?P<nonce>[A-Za-z0-9]{8,})\nIssued At: (?P<issued>\S+)(?:\nExpiration Time: (?P<expires>\S+))?\s*$"
)


def _siwe_fail(code: str, message: str) -> ApplicationError:
    return ApplicationError(code, message, details={"signature": [message]})


def wallet_link(*, actor, message: str, signature: str, domain: str) -> Wallet:
    """Link a self-custody wallet after verifying an EIP-4361 signature. The nonce is spent
    by the first attempt, good or bad, so a signature can never be tried twice."""
    message = (message or "").replace("\r\n", "\n").strip()
    m = _SIWE_RE.match(message)
    if not m:
        raise _siwe_fail("siwe_malformed", "The signed message is not a valid sign-in message.")
    challenge = WalletChallenge.objects.filter(nonce=m["nonce"], user=actor).first()
    if challenge is None:
        raise _siwe_fail("siwe_unknown_nonce", "This sign-in message was not issued to you. Start again.")
    spent = WalletChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(used_at=timezone.now())
    if not spent:
        raise _siwe_fail("siwe_nonce_used", "This sign-in message was already used. Start again.")
    if challenge.expires_at <= timezone.now():
        raise _siwe_fail("siwe_expired", "This sign-in message has expired. Start again.")
    if m["domain"] != domain:
        raise _siwe_fail("siwe_domain_mismatch", "The message was made for another site.")
    if int(m["chain_id"]) != int(settings.CHAIN_ID):
        raise _siwe_fail("siwe_chain_mismatch", "The message names another chain.")
    if m["address"] != challenge.address:
        raise _siwe_fail("siwe_address_mismatch", "The message names another address.")
    if message != challenge.message:
        raise _siwe_fail("siwe_altered", "The message was altered after it was issued.")
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=signature.strip())
    except Exception as exc:
        raise _siwe_fail("siwe_bad_signature", "The signature is not valid.") from exc
    if to_checksum_address(signer) != challenge.address:
        raise _siwe_fail("siwe_bad_signature", "The signature was not made by this wallet.")
    return _wallet_link_commit(actor=actor, address=challenge.address, nonce=challenge.nonce)


@transaction.atomic
def _wallet_link_commit(*, actor, address: str, nonce: str) -> Wallet:
    profile = InvestorProfile.objects.select_for_update().filter(user=actor).first()
    if profile is None:
        raise ApplicationError("profile_missing", gettext("Complete your investor profile first."), status=409)
    if profile.processing_restricted:
        raise ApplicationError("processing_restricted", gettext("Your account is restricted."), status=409)
    if Wallet.objects.filter(address=address).exists():
        raise ApplicationError("wallet_taken", gettext("This wallet is already linked to an account."), status=409)
    wallet = Wallet(profile=profile, address=address, kind=Wallet.Kind.SELF_CUSTODY)
    wallet.full_clean()
    wallet.save()
    audit(actor=actor, action="compliance.wallet_link", obj=wallet,
          after={"address": address, "nonce": nonce, "proof": "EIP-4361"})
    case = profile.cases.filter(status=S.APPROVED).order_by("-approved_at").first()
    # On hold (open sanctions hit): the wallet is registered when the hit is cleared.
    if (case is not None and case.is_active_approval and not case.open_hits.exists()
            and not selectors.change_pending(profile)):
        onchain.register_wallet(actor=actor, case=case, wallet=wallet, reason="Wallet linked after approval")
    return wallet


# ------------------------------------------------------------------ KYC case (investor side)

def _profile_for(user) -> InvestorProfile:
    profile = InvestorProfile.objects.filter(user=user).first()
    if profile is None:
        raise ApplicationError("profile_missing", gettext("Complete your investor profile first."), status=409)
    if profile.processing_restricted:
        raise ApplicationError("processing_restricted",
                               gettext("Processing of your data is restricted after your erasure request."), status=409)
    return profile


@transaction.atomic
def kyc_case_open(*, actor) -> KycCase:
    """The investor's current editable case: the open one, or a new draft when the last
    one ended (rejected, expired, revoked)."""
    profile = _profile_for(actor)
    InvestorProfile.objects.select_for_update().get(pk=profile.pk)
    case = profile.cases.filter(status__in=OPEN_STATES).order_by("-created_at").first()
    if case is None:
        purpose = KycCase.Purpose.INITIAL
        live = profile.cases.filter(status=S.APPROVED).order_by("-approved_at").first()
        if live is not None and live.is_active_approval:
            # Renewal opens early so the investor stays verified while it is reviewed.
            opens = live.expires_at - _renewal_window() if live.expires_at else None
            if opens is None or timezone.now() < opens:
                raise ApplicationError(
                    "already_approved", "Your KYC is approved; renewal opens "
                    f"{_renewal_window().days} days before it expires"
                    + (f" (on {opens:%Y-%m-%d})." if opens else "."), status=409)
            purpose = KycCase.Purpose.RENEWAL
        case = _case_create(actor=actor, profile=profile, purpose=purpose)
    return case


def _case_create(*, actor, profile: InvestorProfile, purpose: str) -> KycCase:
    case = KycCase(profile=profile, purpose=purpose)
    case.full_clean()
    case.save()
    _log(case=case, actor=actor, action="opened", to_status=S.DRAFT, reason=case.get_purpose_display())
    audit(actor=actor, action="compliance.kyc_case_open", obj=case, after={"purpose": purpose})
    return case


def _sniff(data: bytes) -> str:
    for magic, ctype in ALLOWED_TYPES.items():
        if data.startswith(magic):
            return ctype
    raise ApplicationError("unsupported_document", gettext("Upload a PDF, PNG or JPEG file."),
                           details={"file": [gettext("Upload a PDF, PNG or JPEG file.")]})


@transaction.atomic
def kyc_document_upload(*, actor, case: KycCase, kind: str, uploaded_file) -> KycDocument:
    case = _lock(case)
    if case.profile.user_id != actor.pk:
        raise ApplicationError("not_found", gettext("Not found."), status=404)
    if case.status not in (S.DRAFT, S.NEEDS_MORE_INFO):
        raise ApplicationError("case_locked", gettext("Documents can be added only before submission or when "
                               "more information was requested."), status=409)
    if kind not in KycDocument.Kind.values:
        raise ApplicationError("invalid_kind", gettext("Unknown document type."), details={"kind": [gettext(
            "Choose a type.")]})
    limit = int(getattr(settings, "UPLOAD_MAX_DOCUMENT_BYTES", 20 * 1024 * 1024))
    if uploaded_file.size > limit:
        raise ApplicationError("document_too_large", gettext('The file is larger than %(limit)s MB.') %
            {"limit": limit // (1024 * 1024)},
                               details={"file": [gettext('The file is larger than %(limit)s MB.') % {"limit": limit // (
                                   1024 * 1024)}]})
    data = uploaded_file.read()
    ctype = _sniff(data)
    doc = KycDocument(case=case, kind=kind, original_name=Path(uploaded_file.name or "document").name[:200],
                      content_type=ctype, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                      uploaded_by=actor)
    doc.file.save("upload.enc", ContentFile(encrypt_bytes(data)), save=False)
    del data
    doc.full_clean()
    doc.save()
    audit(actor=actor, action="compliance.document_upload", obj=doc, after={"kind": kind, "sha256": doc.sha256})
    return doc


@transaction.atomic
def kyc_case_submit(*, actor, case: KycCase) -> KycCase:
    case = _lock(case)
    if case.profile.user_id != actor.pk:
        raise ApplicationError("not_found", gettext("Not found."), status=404)
    profile = case.profile
    if profile.processing_restricted:
        raise ApplicationError("processing_restricted", gettext("Your account is restricted."), status=409)
    if not profile.is_complete:
        raise ApplicationError("profile_incomplete", gettext("Complete every field of your investor profile first."),
                               status=409)
    kinds = set(case.documents.values_list("kind", flat=True))
    needed = list(REQUIRED_DOCUMENTS)
    if profile.accreditation_basis != InvestorProfile.Accreditation.NON_US:
        needed.append(KycDocument.Kind.ACCREDITATION)
    missing = [str(KycDocument.Kind(k).label) for k in needed if k not in kinds]  # labels are lazy (i18n)
    if missing:
        raise ApplicationError("documents_missing", gettext("Upload these documents first: %(join)s.") % {
            "join": ", ".join(missing)}, details={"documents": missing}, status=409)
    before = _move(case=case, actor=actor, target=S.SUBMITTED,
                   action="resubmitted" if case.status == S.NEEDS_MORE_INFO else "submitted")
    case.submitted_at = case.submitted_at or timezone.now()
    case.investor_message = ""
    case.first_approver, case.first_approved_at = None, None
    case.save()
    _screen(case=case)
    audit(actor=actor, action="compliance.kyc_case_submit", obj=case, before={"status": before},
          after={"status": case.status, "risk": case.risk_level})
    _tell_investor(case, "submitted", gettext_lazy("We received your KYC application"),
                   gettext_lazy("A compliance officer will review it. We will tell you when they decide."))
    # The review waits on a compliance officer: each hears of every (re)submission once.
    _tell_other_officers(
        case, what=f"{before}-submitted:{timezone.now():%Y%m%dT%H%M%S%f}", exclude_ids=[],
        title=format_lazy(gettext_lazy("KYC case #{case} waits for review"), case=case.pk),
        body=format_lazy(gettext_lazy("An investor submitted their KYC application (risk: {risk}). Review the "
                                      "documents and the screening, then approve, reject or ask for more."),
                         risk=case.get_risk_level_display()))
    return case


# ------------------------------------------------------------------ screening & risk

def _candidates() -> list[sanctions.Candidate]:
    out = []
    entries = SanctionsEntry.objects.prefetch_related("aliases", "dobs", "countries")
    for e in entries:
        out.append(sanctions.Candidate(
            uid=e.uid, entry_name=e.name, programs=e.programs,
            names=[e.name, *[a.name for a in e.aliases.all()]],
            dob_years={d.year for d in e.dobs.all() if d.year},
            countries={c.alpha2 for c in e.countries.all() if c.alpha2},
        ))
    return out


def _screen(*, case: KycCase, candidates: list[sanctions.Candidate] | None = None) -> list[ScreeningHit]:
    profile = case.profile
    if candidates is None:
        candidates = _candidates()
    threshold = int(getattr(settings, "SANCTIONS_MATCH_THRESHOLD", 88))
    matches = sanctions.match(
        name=profile.legal_name, dob_year=profile.date_of_birth.year if profile.date_of_birth else None,
        countries={c for c in (profile.residence_country, profile.tax_residence) if c},
        candidates=candidates, threshold=threshold,
    )
    new = []
    for m in matches:
        hit, created = ScreeningHit.objects.get_or_create(
            case=case, entry_uid=m.candidate.uid,
            defaults={"entry_name": m.candidate.entry_name, "matched_name": m.matched_name,
                      "programs": m.candidate.programs, "score": m.score, "detail": m.detail},
        )
        if created:
            new.append(hit)
            audit(actor=None, action="compliance.screening_hit", obj=case,
                  after={"entry_uid": hit.entry_uid, "entry": hit.entry_name, "score": hit.score})
    if new and case.status == S.APPROVED:
        # A hit found by a re-screen puts an approved investor on hold on chain too, so no
        # token can reach their wallets until an officer clears it (or revokes).
        onchain.set_expiry(actor=None, case=case, wallets=_registered_wallets(case.profile),
                           expires_at_unix=onchain.SUSPENDED_EXPIRY, key_suffix=f"hold:{new[0].pk}",
                           reason="Sanctions screening hit: on hold")
        audit(actor=None, action="compliance.kyc_case_hold", obj=case, after={"open_hits": len(new)},
              reason="Sanctions screening hit on an approved investor")
        # The registry suspension only stops the wallets receiving; the hold also freezes them
        # on every live token, so a self-custody holder can neither send units nor claim income.
        hooks.run(hooks.HOLD, profile=case.profile, cause=f"hit:{new[0].pk}", actor=None,
                  reason=f"Sanctions screening hit: {new[0].entry_name}")
    case.screened_at = timezone.now()
    _risk_assess(case)
    case.save()
    summary = f"{len(matches)} possible match(es)" if matches else "No match"
    _log(case=case, actor=None, action="screened", reason=f"{summary} at threshold {threshold}")
    return new


def _risk_assess(case: KycCase) -> None:
    score = min(100, sum(p for _, p in selectors.risk_factors(case)))
    case.risk_score = score
    if score >= _high_risk_threshold():
        case.risk_level = KycCase.Risk.HIGH
        case.was_high_risk = True
    elif score >= 20:
        case.risk_level = KycCase.Risk.MEDIUM
    else:
        case.risk_level = KycCase.Risk.LOW


@transaction.atomic
def screening_hit_clear(*, actor, hit: ScreeningHit, reason: str) -> ScreeningHit:
    reason = _require_reason(reason)
    hit = ScreeningHit.objects.select_for_update().select_related("case", "case__profile").get(pk=hit.pk)
    _ensure_officer(actor, hit.case)
    if hit.status != ScreeningHit.Status.OPEN:
        raise ApplicationError("hit_not_open", gettext("This hit is already cleared."), status=409)
    approvers = {hit.case.first_approver_id}
    if hit.case.status == S.APPROVED:
        approvers.add(hit.case.decided_by_id)
    if actor.pk in approvers:
        raise ApplicationError("four_eyes", gettext("You approved this case; another officer must clear its sanctions "
                               "hit."), status=409)
    hit.status, hit.cleared_by, hit.cleared_at, hit.clear_reason = (
        ScreeningHit.Status.CLEARED, actor, timezone.now(), reason)
    hit.save()
    case = hit.case
    _log(case=case, actor=actor, action="hit_cleared", reason=f"SDN {hit.entry_uid} ({hit.entry_name}): {reason}")
    _risk_assess(case)
    case.save(update_fields=["risk_score", "risk_level", "was_high_risk", "updated_at"])
    audit(actor=actor, action="compliance.screening_hit_clear", obj=case,
          before={"hit": hit.entry_uid, "status": "open"}, after={"status": "cleared"}, reason=reason)
    if case.status in (S.SUBMITTED, S.IN_REVIEW) and not case.open_hits.exists():
        # Whoever cleared a hit may not approve the case: it now waits for another officer.
        _tell_other_officers(
            case, what=f"hits_cleared:{hit.pk}", exclude_ids=[actor.pk, case.first_approver_id],
            title=format_lazy(gettext_lazy("KYC case #{case}: sanctions hits cleared, another officer decides"),
                              case=case.pk),
            body=format_lazy(gettext_lazy(
                "{officer} cleared the last open sanctions hit on this case. Whoever cleared a hit may not approve "
                "the case: a different compliance officer must review it and decide."), officer=actor.email))
    if case.is_active_approval and not case.open_hits.exists() and not selectors.change_pending(case.profile):
        _sync_wallets_on_chain(actor=actor, case=case, key_suffix=f"release:{hit.pk}",
                               reason="Sanctions hit cleared: hold released")
        hooks.run(hooks.RELEASE, profile=case.profile, cause=f"clear:{hit.pk}", actor=actor,
                  reason=f"Sanctions hit cleared: {reason}")
    return hit


def _registered_wallets(profile: InvestorProfile) -> list[Wallet]:
    """Wallets the registry holds or will hold once queued writes land."""
    return [w for w in profile.wallets.all() if onchain.wallet_intends_registered(w)]


def _sync_wallets_on_chain(*, actor, case: KycCase, key_suffix: str, reason: str,
                           register_suffix: str = "") -> None:
    """Make every wallet of an eligible investor verified until the case expiry: wallets
    already registered get the expiry, the others are registered."""
    wallets = list(case.profile.wallets.all())
    held = {w.pk for w in wallets if onchain.wallet_intends_registered(w)}
    onchain.set_expiry(actor=actor, case=case, wallets=[w for w in wallets if w.pk in held],
                       expires_at_unix=int(case.expires_at.timestamp()), key_suffix=key_suffix, reason=reason)
    for wallet in wallets:
        if wallet.pk not in held:
            onchain.register_wallet(actor=actor, case=case, wallet=wallet, key_suffix=register_suffix)


def sanctions_load(*, actor, path: str | Path) -> SanctionsListLoad:
    """Replace the stored SDN list with the file at `path` (CSV or XML), then re-screen
    every open or approved case."""
    parsed = sanctions.parse_path(path)
    p = Path(path)
    digest = hashlib.sha256(p.read_bytes() if p.is_file() else b"".join(
        f.read_bytes() for f in sorted(p.iterdir()) if f.is_file())).hexdigest()
    with transaction.atomic():
        SanctionsEntry.objects.all().delete()
        for e in parsed.entries:
            entry = SanctionsEntry.objects.create(uid=e.uid, name=e.name[:350], sdn_type=e.sdn_type[:20],
                                                  programs="; ".join(e.programs)[:200], remarks=e.remarks)
            SanctionsAlias.objects.bulk_create(
                [SanctionsAlias(entry=entry, name=n[:350], alias_type=t[:20]) for n, t in e.aliases])
            SanctionsDob.objects.bulk_create(
                [SanctionsDob(entry=entry, text=d[:60], year=(sanctions.dob_years(d) or [None])[0]) for d in e.dobs])
            SanctionsCountry.objects.bulk_create(
                [SanctionsCountry(entry=entry, name=c[:100], alpha2=sanctions.country_alpha2(c)) for c in e.countries])
        load = SanctionsListLoad.objects.create(source=p.name, file_format=parsed.file_format, sha256=digest,
                                                publish_date=parsed.publish_date, entry_count=len(parsed.entries))
        audit(actor=actor, action="compliance.sanctions_load", obj=load,
              after={"entries": load.entry_count, "sha256": digest, "format": parsed.file_format})
    sanctions_rescreen(actor=actor)
    return load


def sanctions_rescreen(*, actor=None) -> int:
    candidates = _candidates()
    new_hits = 0
    for case_id in KycCase.objects.filter(status__in=SCREENED_STATES).values_list("pk", flat=True):
        with transaction.atomic():
            case = _lock(KycCase(pk=case_id))
            if case.profile.purged_at:
                continue
            new_hits += len(_screen(case=case, candidates=candidates))
    return new_hits


# ------------------------------------------------------------------ KYC case (officer side)

@transaction.atomic
def kyc_case_start_review(*, actor, case: KycCase) -> KycCase:
    case = _lock(case)
    _ensure_officer(actor, case)
    before = _move(case=case, actor=actor, target=S.IN_REVIEW, action="review_started")
    case.save()
    audit(actor=actor, action="compliance.kyc_case_start_review", obj=case, before={"status": before},
          after={"status": case.status})
    return case


def _needs_two_approvers(case: KycCase) -> bool:
    return case.risk_level == KycCase.Risk.HIGH or case.was_high_risk


@transaction.atomic
def kyc_case_approve(*, actor, case: KycCase, reason: str = "") -> KycCase:
    """Approve. A case that was high risk at any point needs two different officers, and
    whoever cleared one of its sanctions hits cannot approve it (four-eyes). On the final
    approval every wallet of the investor is made verified in the IdentityRegistry, the
    approval it replaces (renewal, profile change) is superseded, and the registry's
    country follows the profile."""
    case = _lock(case)
    _ensure_officer(actor, case)
    check_transition(entity="KYC case", table=TRANSITIONS, current=case.status, target=S.APPROVED)
    if case.profile.processing_restricted:
        raise ApplicationError("processing_restricted", gettext("The investor's processing is restricted."), status=409)
    if case.open_hits.exists():
        raise ApplicationError("sanctions_hit_open", gettext("Clear every open sanctions hit (with a reason) first."),
                               status=409)
    if case.hits.filter(cleared_by=actor).exists():
        raise ApplicationError("four_eyes", gettext("You cleared a sanctions hit on this case; another officer must "
                               "approve it."), status=409)
    _risk_assess(case)
    if _needs_two_approvers(case):
        if case.first_approver_id is None:
            case.first_approver, case.first_approved_at = actor, timezone.now()
            case.save()
            _log(case=case, actor=actor, action="first_approval", from_status=case.status, to_status=case.status,
                 reason=reason or "High-risk case: first approval", evidence=_evidence(case))
            audit(actor=actor, action="compliance.kyc_case_first_approval", obj=case, reason=reason)
            _tell_other_officers(
                case, what=f"second_approval:{case.first_approved_at.isoformat()}",
                # Whoever cleared one of its hits may not approve it either.
                exclude_ids=[actor.pk, *case.hits.values_list("cleared_by_id", flat=True)],
                title=format_lazy(gettext_lazy("KYC case #{case} waits for a second approval"), case=case.pk),
                body=format_lazy(gettext_lazy(
                    "{officer} approved this high-risk case once. A different compliance officer must review it "
                    "and approve or reject it before the investor can invest."), officer=actor.email))
            return case
        if case.first_approver_id == actor.pk:
            raise ApplicationError("four_eyes", gettext(
                "A high-risk case needs a second, different officer to approve."),
                                   status=409)
    profile = case.profile
    previous = (profile.cases.filter(status=S.APPROVED).exclude(pk=case.pk).select_for_update()
                .order_by("-approved_at").first())
    now = timezone.now()
    before = _move(case=case, actor=actor, target=S.APPROVED, action="approved", reason=reason)
    case.decided_by, case.decided_at, case.approved_at = actor, now, now
    case.expires_at = now + dt.timedelta(days=int(settings.KYC_VALIDITY_DAYS))
    if previous is not None and previous.expires_at and previous.expires_at > case.expires_at:
        case.expires_at = previous.expires_at  # a change review never shortens the validity
    case.country_numeric = profile.residence_country_numeric
    case.investor_message = ""
    case.save()
    audit(actor=actor, action="compliance.kyc_case_approve", obj=case, before={"status": before},
          after={"status": case.status, "expires_at": case.expires_at, "purpose": case.purpose,
                 "second_officer": case.first_approver_id is not None}, reason=reason)
    if previous is not None:
        _move(case=previous, actor=actor, target=S.SUPERSEDED, action="superseded",
              reason=f"Replaced by case #{case.pk} ({case.get_purpose_display().lower()})")
        previous.save()
        audit(actor=actor, action="compliance.kyc_case_supersede", obj=previous,
              before={"status": S.APPROVED}, after={"status": S.SUPERSEDED, "by": case.pk})
        if previous.country_numeric is not None and previous.country_numeric != case.country_numeric:
            for wallet in _registered_wallets(profile):
                onchain.update_country(actor=actor, case=case, wallet=wallet, country=case.country_numeric,
                                       reason="Residence country changed")
    # Wallets still registered from an earlier approval only need the new expiry.
    _sync_wallets_on_chain(actor=actor, case=case, key_suffix="expiry", reason="KYC renewed")
    # A new approval ends a hold left by a revocation (no-op when nothing is frozen).
    hooks.run(hooks.RELEASE, profile=profile, cause=f"approve:{case.pk}", actor=actor,
              reason=f"KYC case #{case.pk} approved")
    _tell_investor(case, "approved", gettext_lazy("Your KYC is approved"),
                   format_lazy(gettext_lazy("You can invest on MedRWA. Your approval is valid until {date}."),
                               date=f"{case.expires_at:%Y-%m-%d}"))
    return case


@transaction.atomic
def kyc_case_reject(*, actor, case: KycCase, reason: str) -> KycCase:
    reason = _require_reason(reason)
    case = _lock(case)
    _ensure_officer(actor, case)
    before = _move(case=case, actor=actor, target=S.REJECTED, action="rejected", reason=reason)
    case.decided_by, case.decided_at, case.investor_message = actor, timezone.now(), reason
    case.save()
    audit(actor=actor, action="compliance.kyc_case_reject", obj=case, before={"status": before},
          after={"status": case.status}, reason=reason)
    _tell_investor(case, "rejected", gettext_lazy("Your KYC application was rejected"),
                   format_lazy(gettext_lazy("The compliance officer wrote: {reason}"), reason=reason))
    return case


@transaction.atomic
def kyc_case_request_info(*, actor, case: KycCase, reason: str) -> KycCase:
    reason = _require_reason(reason)
    case = _lock(case)
    _ensure_officer(actor, case)
    before = _move(case=case, actor=actor, target=S.NEEDS_MORE_INFO, action="more_info_requested", reason=reason)
    case.investor_message = reason
    case.first_approver, case.first_approved_at = None, None
    case.save()
    audit(actor=actor, action="compliance.kyc_case_request_info", obj=case, before={"status": before},
          after={"status": case.status}, reason=reason)
    _tell_investor(case, "needs_more_info", gettext_lazy("Your KYC application needs more information"),
                   format_lazy(gettext_lazy("The compliance officer asks: {reason}"), reason=reason))
    return case


@transaction.atomic
def kyc_case_expire(*, case: KycCase, actor=None) -> KycCase:
    """Past its expiry: the case expires and the identity's expiry is (re)written on chain
    so `isVerified` turns false for every wallet of the investor."""
    case = _lock(case)
    if case.expires_at is None or case.expires_at > timezone.now():
        raise ApplicationError("not_due", gettext("This approval has not reached its expiry."), status=409)
    before = _move(case=case, actor=actor, target=S.EXPIRED, action="expired",
                   reason="KYC validity period ended")
    case.investor_message = "Your KYC approval expired. Submit a new KYC case to keep investing."
    case.save()
    audit(actor=actor, action="compliance.kyc_case_expire", obj=case, before={"status": before},
          after={"status": case.status})
    onchain.set_expiry(actor=actor, case=case, wallets=_registered_wallets(case.profile),
                       expires_at_unix=int(case.expires_at.timestamp()), key_suffix="expire", reason="KYC expired")
    return case


@transaction.atomic
def kyc_case_revoke(*, actor, case: KycCase, reason: str, officer_check: bool = True) -> KycCase:
    """Withdraw an approval: the case is revoked and every wallet removed from the registry."""
    reason = _require_reason(reason)
    case = _lock(case)
    if officer_check:
        _ensure_officer(actor, case)
    before = _move(case=case, actor=actor, target=S.REVOKED, action="revoked", reason=reason)
    case.decided_by = actor if getattr(actor, "is_authenticated", False) else None
    case.decided_at, case.investor_message = timezone.now(), reason
    case.save()
    audit(actor=actor, action="compliance.kyc_case_revoke", obj=case, before={"status": before},
          after={"status": case.status}, reason=reason)
    # Also wallets whose registration is still queued: the removal is ordered after it.
    for wallet in _registered_wallets(case.profile):
        onchain.remove_wallet(actor=actor, case=case, wallet=wallet, reason=reason)
    # Removal from the registry stops receiving only; the freeze stops sending and claiming.
    hooks.run(hooks.HOLD, profile=case.profile, cause=f"revoke:{case.pk}", actor=actor,
              reason=f"KYC approval revoked: {reason}")
    return case


def kyc_cases_expire_due() -> int:
    n = 0
    due = KycCase.objects.filter(status=S.APPROVED, expires_at__lte=timezone.now()).values_list("pk", flat=True)
    for pk in list(due):
        try:
            kyc_case_expire(case=KycCase(pk=pk))
            n += 1
        except ApplicationError:
            logger.exception("Could not expire KYC case %s", pk)
    # Thirty days' warning, once per approval (the notice is keyed by the case and its expiry).
    for case in KycCase.objects.filter(status=S.APPROVED, expires_at__lte=timezone.now() + dt.timedelta(days=30),
                                       expires_at__gt=timezone.now()).select_related("profile__user"):
        notify(recipient=case.profile.user, category=NoticeCategory.KYC, url="/investor/onboarding/",
               event_key=f"kyc:{case.pk}:expiring:{case.expires_at:%Y-%m-%d}",
               title=gettext_lazy("Your KYC expires in 30 days"),
               body=format_lazy(gettext_lazy("Your approval ends on {date}. Renew it to keep investing."),
                                date=f"{case.expires_at:%Y-%m-%d}"))
    return n


@transaction.atomic
def investor_registry_resync(*, actor, profile: InvestorProfile, key_tag: str = "",
                             officer_check: bool = True) -> list:
    """Retry or compensate failed registry writes: queue what brings the chain to the state
    the platform's records decide (verified until expiry, suspended, or removed), judged
    against the registry itself when it is reachable."""
    profile = InvestorProfile.objects.select_for_update().get(pk=profile.pk)
    case = profile.cases.exclude(status=S.DRAFT).order_by("-created_at", "-id").first()
    live = profile.cases.filter(status=S.APPROVED).order_by("-approved_at").first()
    anchor = live or case
    if anchor is None:
        raise ApplicationError("nothing_to_sync", gettext("This investor has no KYC case."), status=409)
    if officer_check:
        _ensure_officer(actor, anchor)
    tag = key_tag or f"resync{secrets.token_hex(4)}"
    before = {r.pk for r in onchain._profile_rows(profile)}
    eligible = (live is not None and live.is_active_approval and not profile.processing_restricted
                and not live.open_hits.exists() and not selectors.change_pending(profile))
    held = []
    for wallet in profile.wallets.all():
        on_chain = onchain.live_contains(wallet.address)
        if on_chain is None:
            on_chain = onchain.wallet_intends_registered(wallet)
        if on_chain:
            held.append(wallet)
    if eligible:
        onchain.set_expiry(actor=actor, case=live, wallets=held, expires_at_unix=int(live.expires_at.timestamp()),
                           key_suffix=f"{tag}:expiry", reason="Registry resync")
        for wallet in profile.wallets.exclude(pk__in=[w.pk for w in held]):
            onchain.register_wallet(actor=actor, case=live, wallet=wallet, reason="Registry resync",
                                    key_suffix=f":{tag}")
    elif live is not None and live.is_active_approval and not profile.processing_restricted:
        onchain.set_expiry(actor=actor, case=live, wallets=held, expires_at_unix=onchain.SUSPENDED_EXPIRY,
                           key_suffix=f"{tag}:hold", reason="Registry resync: on hold")
    else:
        for wallet in held:
            onchain.remove_wallet(actor=actor, case=anchor, wallet=wallet, reason="Registry resync: not eligible",
                                  key_suffix=f":{tag}")
    rows = [r for r in onchain._profile_rows(profile) if r.pk not in before]
    audit(actor=actor, action="compliance.registry_resync", obj=profile,
          after={"eligible": eligible, "queued": [r.idempotency_key for r in rows]})
    return rows


# ------------------------------------------------------------------ documents & export

def kyc_document_read(*, actor, document: KycDocument, request=None) -> bytes:
    """Decrypted bytes of a document; every read is audited (who looked at what)."""
    if document.purged_at or not document.file:
        raise ApplicationError("document_purged", gettext("This document was deleted under the retention policy."),
                               status=410)
    with document.file.open("rb") as fh:
        data = decrypt_bytes(fh.read())
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise ApplicationError("document_tampered", gettext("The stored document does not match its recorded hash."),
                               status=500)
    audit(actor=actor, action="compliance.document_view", obj=document,
          after={"kind": document.kind, "sha256": document.sha256, "case": document.case_id})
    return data


def kyc_case_export_pdf(*, actor, case: KycCase) -> bytes:
    if not user_has_role(actor, Role.COMPLIANCE_OFFICER):
        raise ApplicationError("permission_denied", gettext("Only compliance officers export case files."), status=403)
    pdf = case_file_pdf(case)
    audit(actor=actor, action="compliance.case_export", obj=case, after={"sha256": hashlib.sha256(pdf).hexdigest()})
    return pdf


# ------------------------------------------------------------------ retention

@transaction.atomic
def erasure_request(*, actor, user) -> InvestorProfile:
    """GDPR erasure under an AML retention duty: restrict processing now (no eligibility,
    no purchases, wallets removed from the registry) and schedule the purge for the end of
    the retention period."""
    profile = InvestorProfile.objects.select_for_update().filter(user=user).first()
    if profile is None:
        raise ApplicationError("profile_missing", gettext("There is no investor profile to erase."), status=404)
    if profile.processing_restricted:
        raise ApplicationError("already_requested", gettext("Erasure was already requested."), status=409)
    now = timezone.now()
    profile.processing_restricted = True
    profile.erasure_requested_at = now
    profile.relationship_ended_at = profile.relationship_ended_at or now
    years = int(settings.RETENTION_YEARS_AFTER_RELATIONSHIP)
    end = profile.relationship_ended_at
    try:
        profile.purge_after = end.replace(year=end.year + years)
    except ValueError:  # 29 February
        profile.purge_after = end.replace(year=end.year + years, day=28)
    profile.save()
    audit(actor=actor, action="compliance.erasure_request", obj=profile,
          after={"purge_after": profile.purge_after, "restricted": True})
    for case in profile.cases.filter(status=S.APPROVED):
        kyc_case_revoke(actor=actor, case=case, reason="Erasure requested: processing restricted",
                        officer_check=False)
    for case in profile.cases.filter(status__in=OPEN_STATES):
        _log(case=case, actor=actor, action="processing_restricted", reason="Erasure requested")
    return profile


PERSONAL_AUDIT_KEYS = {"email", "full_name", "legal_name", "address", "date_of_birth", "original_name",
                       "admin", "user", "name", "entry", "changed"}


def _redact_json(value, names: list[str]):
    if isinstance(value, dict):
        return {k: ("[redacted]" if k in PERSONAL_AUDIT_KEYS else _redact_json(v, names)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v, names) for v in value]
    if isinstance(value, str) and any(n and n.lower() in value.lower() for n in names):
        return "[redacted]"
    return value


@transaction.atomic
def investor_purge(*, profile: InvestorProfile) -> InvestorProfile:
    """Delete documents and personal data once the retention period ends; the audit trail
    keeps its non-personal facts (action, time, object, hashes)."""
    profile = InvestorProfile.objects.select_for_update().select_related("user").get(pk=profile.pk)
    if profile.purged_at:
        return profile
    if profile.purge_after is None or profile.purge_after > timezone.now():
        raise ApplicationError("not_due", gettext("The retention period has not ended."), status=409)
    user = profile.user
    names = [n for n in (profile.legal_name, user.email, user.full_name) if n]
    case_ids = list(profile.cases.values_list("pk", flat=True))
    docs = KycDocument.objects.filter(case_id__in=case_ids)
    doc_ids = [str(pk) for pk in docs.values_list("pk", flat=True)]
    for doc in docs:
        if doc.file:
            doc.file.delete(save=False)
        doc.original_name, doc.purged_at = "", timezone.now()
        doc.save(update_fields=["file", "original_name", "purged_at", "updated_at"])
    for hit in ScreeningHit.objects.filter(case_id__in=case_ids):
        hit.matched_name = "[redacted]"
        hit.save(update_fields=["matched_name", "updated_at"])
    for decision in KycDecision.objects.filter(case_id__in=case_ids):
        if decision.actor_id == user.pk or any(n.lower() in decision.reason.lower() for n in names):
            if decision.actor_id == user.pk:
                decision.actor_label = "[erased investor]"
            decision.reason = _redact_json(decision.reason, names)
            decision.save(_redaction=True)
    wallet_ids = [str(pk) for pk in profile.wallets.values_list("pk", flat=True)]
    targets = (
        [("compliance.investorprofile", [str(profile.pk)]), ("compliance.kyccase", [str(i) for i in case_ids]),
         ("compliance.kycdocument", doc_ids), ("compliance.wallet", wallet_ids), ("accounts.user", [str(user.pk)])]
    )
    q = Q(actor=user)
    for object_type, ids in targets:
        if ids:
            q |= Q(object_type=object_type, object_id__in=ids)
    for event in AuditEvent.objects.filter(q):
        if event.actor_id == user.pk:
            event.actor_label = "[erased investor]"
        event.object_repr = ""
        event.before = _redact_json(event.before, names)
        event.after = _redact_json(event.after, names)
        event.reason = _redact_json(event.reason, names)
        event.save(_redaction=True)
    for f in ("legal_name", "address", "accreditation_detail"):
        setattr(profile, f, "")
    profile.date_of_birth = None
    profile.intended_amount = None
    profile.purged_at = timezone.now()
    profile.save()
    user.email = f"erased-{user.pk}@erased.invalid"
    user.full_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
    audit(actor=None, action="compliance.investor_purge", obj=profile,
          after={"documents_deleted": len(doc_ids), "cases": len(case_ids)})
    return profile


def investors_purge_due() -> int:
    due = InvestorProfile.objects.filter(purged_at__isnull=True, purge_after__lte=timezone.now())
    n = 0
    for profile in due:
        investor_purge(profile=profile)
        n += 1
    return n

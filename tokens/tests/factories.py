import datetime as dt
import hashlib
import secrets
import uuid
from decimal import Decimal

from accounts.models import Organization
from accounts.tests.factories import make_user
from assets.models import Appraisal, AppraisalStatus, Certification, Device, DeviceStatus
from core.permissions import Role


def make_certified_device(*, organization: Organization | None = None) -> Device:
    """A certified device with a signed appraisal and a passed certificate (hashes only:
    that is all tokenizing needs)."""
    if organization is None:
        organization = Organization.objects.create(name=f"Clinic {secrets.token_hex(3)}",
                                                   kind=Organization.Kind.CLINIC, country="DE")
    device = Device.objects.create(organization=organization, status=DeviceStatus.CERTIFIED, modality="MR",
                                   manufacturer="Siemens", model_name="Magnetom Vida",
                                   serial_number=secrets.token_hex(4))
    appraiser = make_user(Role.APPRAISER)
    inspector = make_user(Role.INSPECTOR)
    appraisal = Appraisal.objects.create(
        device=device, appraiser=appraiser, status=AppraisalStatus.SIGNED, client="c", intended_users="u",
        intended_use="tokenization", value_definition="fair value", effective_date=dt.date(2026, 1, 1),
        # Near offering_terms()'s 1,000 units × 250.00 USD, so the valuation is in band.
        cost_value=Decimal("270000"), reconciled_value=Decimal("260000"),
        report_sha256=hashlib.sha256(b"appraisal" + secrets.token_bytes(4)).hexdigest())
    Certification.objects.create(public_id=uuid.uuid4(), device=device, inspector=inspector, passed=True,
                                 appraisal=appraisal,
                                 certificate_sha256=hashlib.sha256(b"cert" + secrets.token_bytes(4)).hexdigest())
    return device


def offering_terms(**over) -> dict:
    terms = {"token_name": "Vida MRI Token", "token_symbol": "VIDA", "units": 1000,
             "price_per_unit": Decimal("250.00"), "currency": "USD", "share_offered_pct": Decimal("40"),
             "allowed_countries": [276, 250], "max_per_investor": 300, "holder_cap": 100,
             "lockup_until": None, "revenue_share_pct": Decimal("30"),
             "platform_fee_pct": Decimal("5"), "reserve_pct": Decimal("5"), "reserve_target": Decimal("10000"),
             "clinic_share_pct": Decimal("60")}
    terms.update(over)
    return terms


def accept_pricing(offering, *, by=None, reason: str = "Test fixture: no revenue measured yet; priced on the "
                   "signed appraisal."):
    """A second person (a fresh compliance officer unless `by`) accepts the offering's pricing
    exception. A device without telemetry has no measured revenue, so no yield can be shown
    to be in band and deploying it needs this (tokens.economics)."""
    from tokens.offerings import services

    return services.offering_accept_pricing(actor=by or make_user(Role.COMPLIANCE_OFFICER), offering=offering,
                                            reason=reason)


def clinic_admin_of(device: Device):
    return make_user(Role.CLINIC_ADMIN, organization=device.organization)


def register_identity_via_outbox(wallet: str, identity: str, country: int = 276):
    """Register a wallet in the IdentityRegistry through the outbox (what KYC approval does)."""
    from django.db import transaction

    from chain.selectors import deployment_address
    from chain.services import outbox_enqueue

    with transaction.atomic():
        return outbox_enqueue(actor=None, idempotency_key=f"t-reg:{wallet}", kind="test",
                              contract_name="IdentityRegistry", function="registerIdentity",
                              args=[wallet, identity, country], to_address=deployment_address("IdentityRegistry"))


def mint_via_outbox(offering, wallet: str, units: int):
    """An agent mint through the outbox (what the primary-sale flow does)."""
    from django.db import transaction

    from chain.services import outbox_enqueue

    with transaction.atomic():
        return outbox_enqueue(actor=None, idempotency_key=f"t-mint:{wallet}:{units}", kind="test",
                              contract_name="SecurityToken", function="mint", args=[wallet, units],
                              to_address=offering.token_address)


def make_live_offering(**terms):
    """A live offering without a chain (status and token address set directly): enough for
    order services, whose chain side is an outbox row."""
    from tokens.models import Offering, OfferingStatus

    device = make_certified_device()
    data = offering_terms(**{"allowed_countries": [826, 276], **terms})
    return Offering.objects.create(
        device=device, status=OfferingStatus.LIVE, created_by=make_user(Role.PLATFORM_ADMIN),
        chain_device_id="0x" + secrets.token_hex(32), chain_id=31337, token_address="0x" + secrets.token_hex(20),
        **data)


def make_investor(*, status: str = "approved", **profile):
    """An investor with a KYC case in `status` (approved: wallet registration queued)."""
    from compliance.tests.factories import make_case, make_profile

    if status == "none":
        return make_user(Role.INVESTOR)
    if status == "profile":
        return make_profile(**profile).user
    return make_case(status=status, **profile).profile.user


def approved_investor_wallets(investor, officer, drain_outbox) -> tuple[str, str]:
    """An approved investor's custodial wallet and a second, self-custody wallet linked to
    the same platform account, both registered on chain."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    from compliance import services as kyc
    from compliance.tests.factories import make_case

    # Germany: a country the test offering admits.
    case = make_case(investor, status="approved", officer=officer, residence_country="DE", tax_residence="DE")
    acct = Account.create()
    ch = kyc.wallet_challenge_create(actor=investor, address=acct.address, domain="t.test", uri="https://t.test/")
    sig = Account.sign_message(encode_defunct(text=ch.message), private_key=acct.key).signature.hex()
    kyc.wallet_link(actor=investor, message=ch.message, signature=sig, domain="t.test")
    drain_outbox()
    return case.profile.wallets.get(kind="custodial").address, acct.address

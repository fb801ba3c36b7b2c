"""KYC decisions reach the real IdentityRegistry on a local anvil through the outbox."""

import datetime as dt

import pytest
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from chain import gateway
from chain.models import ChainTransaction
from compliance import onchain, selectors, services
from compliance.models import KycCase
from compliance.tests.factories import make_case

pytestmark = pytest.mark.django_db
S = KycCase.Status


def _verified(address: str, registry: str) -> bool:
    return gateway.call("IdentityRegistry", registry, "isVerified", address)


def _drain_all(drain_outbox):
    rows = drain_outbox(ids=list(ChainTransaction.objects.filter(status="pending").values_list("pk", flat=True)))
    assert all(r.status == ChainTransaction.Status.CONFIRMED for r in rows), [(r.function, r.error) for r in rows]


def test_approval_expiry_and_revocation_on_chain(chain_ready, drain_outbox, investor, compliance_officer):
    registry = chain_ready["IdentityRegistry"]
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer, residence_country="CH",
                     tax_residence="CH")
    wallets = list(case.profile.wallets.all())
    assert not _verified(wallets[0].address, registry)
    _drain_all(drain_outbox)
    for w in wallets:
        assert _verified(w.address, registry)
        assert gateway.call("IdentityRegistry", registry, "investorCountry", w.address) == 756
        assert gateway.call("IdentityRegistry", registry, "identity", w.address) == case.profile.identity_address
        assert gateway.call("IdentityRegistry", registry, "kycExpiry", w.address) == int(case.expires_at.timestamp())
    assert onchain.live_is_verified(wallets[0].address) is True

    # A wallet linked after approval is registered too.
    acct = Account.create()
    ch = services.wallet_challenge_create(actor=investor, address=acct.address, domain="t.test", uri="https://t.test/")
    sig = Account.sign_message(encode_defunct(text=ch.message), private_key=acct.key).signature.hex()
    services.wallet_link(actor=investor, message=ch.message, signature=sig, domain="t.test")
    _drain_all(drain_outbox)
    assert _verified(acct.address, registry)

    # Expiry: the periodic task writes the past expiry on chain; every wallet turns unverified.
    KycCase.objects.filter(pk=case.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=5))
    assert services.kyc_cases_expire_due() == 1
    _drain_all(drain_outbox)
    assert not _verified(acct.address, registry) and not _verified(wallets[0].address, registry)
    assert not selectors.investor_is_eligible(user=investor)


def test_revocation_deletes_identities(chain_ready, drain_outbox, investor, compliance_officer):
    registry = chain_ready["IdentityRegistry"]
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    _drain_all(drain_outbox)
    address = case.profile.wallets.first().address
    assert _verified(address, registry)
    services.kyc_case_revoke(actor=compliance_officer, case=case, reason="Source of funds not credible")
    _drain_all(drain_outbox)
    assert not gateway.call("IdentityRegistry", registry, "contains", address)
    assert not _verified(address, registry)


def test_revoked_before_the_registration_is_mined_is_not_left_verified(
        chain_ready, drain_outbox, investor, compliance_officer):
    registry = chain_ready["IdentityRegistry"]
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    wallet = case.profile.wallets.get()
    register = ChainTransaction.objects.get(function="registerIdentityWithExpiry", args__0=wallet.address)
    assert register.status == "pending" and not wallet.registered_on_chain
    services.kyc_case_revoke(actor=compliance_officer, case=case, reason="Source of funds not credible")
    _drain_all(drain_outbox)
    register.refresh_from_db()
    delete = ChainTransaction.objects.get(function="deleteIdentity", args__0=wallet.address)
    assert register.status == delete.status == "confirmed" and delete.block_number >= register.block_number
    assert not _verified(wallet.address, registry)
    assert not gateway.call("IdentityRegistry", registry, "contains", wallet.address)
    wallet.refresh_from_db()
    assert wallet.registered_on_chain is False


def test_registered_on_chain_follows_the_confirmed_registration(chain_ready, drain_outbox, investor,
                                                                compliance_officer):
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    wallet = case.profile.wallets.get()
    assert wallet.registered_on_chain is False  # queued, not yet on chain
    _drain_all(drain_outbox)
    wallet.refresh_from_db()
    assert wallet.registered_on_chain is True and _verified(wallet.address, chain_ready["IdentityRegistry"])


def test_rescreen_hit_suspends_an_approved_investor_on_chain_until_cleared(
        chain_ready, drain_outbox, investor, compliance_officer, compliance_officer2, sdn_xml_path, sdn_csv_path):
    registry = chain_ready["IdentityRegistry"]
    services.sanctions_load(actor=None, path=sdn_xml_path)  # no Markovic in this file
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer,
                     legal_name="Zoran Markovic", date_of_birth=dt.date(1958, 7, 3))
    _drain_all(drain_outbox)
    custodial = case.profile.wallets.get().address
    assert _verified(custodial, registry)

    services.sanctions_load(actor=None, path=sdn_csv_path)  # now he is listed
    hit = case.hits.get()
    _drain_all(drain_outbox)
    assert not _verified(custodial, registry) and not selectors.investor_is_eligible(user=investor)

    # A wallet linked while on hold is not registered until the hold is released.
    acct = Account.create()
    ch = services.wallet_challenge_create(actor=investor, address=acct.address, domain="t.test", uri="https://t.test/")
    sig = Account.sign_message(encode_defunct(text=ch.message), private_key=acct.key).signature.hex()
    services.wallet_link(actor=investor, message=ch.message, signature=sig, domain="t.test")
    _drain_all(drain_outbox)
    assert not gateway.call("IdentityRegistry", registry, "contains", acct.address)

    services.screening_hit_clear(actor=compliance_officer2, hit=hit, reason="Different person: DOB and passport differ")
    _drain_all(drain_outbox)
    assert _verified(custodial, registry) and _verified(acct.address, registry)
    assert gateway.call("IdentityRegistry", registry, "kycExpiry", acct.address) == int(case.expires_at.timestamp())
    assert selectors.investor_is_eligible(user=investor)

import datetime as dt

import pytest
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from compliance import services
from compliance.models import Wallet, WalletChallenge
from compliance.tests.factories import make_profile
from core.crypto import decrypt_str
from core.errors import ApplicationError
from core.models import AuditEvent

pytestmark = pytest.mark.django_db
DOMAIN = "medrwa.test"


def test_profile_stores_country_numeric_for_the_chain(investor):
    profile = make_profile(investor, residence_country="vg", tax_residence="VG")
    assert profile.residence_country == "VG"
    assert profile.residence_country_numeric == 92  # pycountry says "092"
    assert profile.identity_address.startswith("0x") and len(profile.identity_address) == 42


def test_profile_rejects_unknown_country_and_future_birthdate(investor):
    with pytest.raises(ApplicationError) as exc:
        make_profile(investor, residence_country="XX")
    assert "residence_country" in exc.value.details
    with pytest.raises(ApplicationError) as exc:
        make_profile(investor, date_of_birth=timezone.localdate() + dt.timedelta(days=1))
    assert "date_of_birth" in exc.value.details


def test_only_investors_have_profiles(clinic_admin):
    with pytest.raises(ApplicationError):
        make_profile(clinic_admin)


def test_custodial_wallet_key_is_encrypted_and_never_shown(investor):
    profile = make_profile(investor)
    make_profile(investor, legal_name="Erin B. Example")  # a second save makes no second wallet
    wallet = profile.wallets.get()
    assert wallet.kind == Wallet.Kind.CUSTODIAL
    key = decrypt_str(wallet.encrypted_private_key)
    assert Account.from_key(key).address == wallet.address
    assert key[2:] not in wallet.encrypted_private_key
    for text in (str(wallet), repr(wallet)):
        assert key[2:] not in text and wallet.encrypted_private_key not in text
    for event in AuditEvent.objects.all():
        assert key[2:] not in f"{event.before}{event.after}{event.reason}"


def test_identity_address_is_stable_per_investor(investor, user_with_role):
    from core.roles import Role

    a = make_profile(investor)
    b = make_profile(user_with_role(Role.INVESTOR))
    assert a.identity_address != b.identity_address
    assert make_profile(investor).identity_address == a.identity_address


def _sign(message: str, key) -> str:
    return Account.sign_message(encode_defunct(text=message), private_key=key).signature.hex()


@pytest.fixture
def acct():
    return Account.create()


def _challenge(user, address):
    return services.wallet_challenge_create(actor=user, address=address, domain=DOMAIN, uri=f"https://{DOMAIN}/")


def test_self_custody_wallet_links_with_a_real_signature(investor, acct):
    make_profile(investor)
    ch = _challenge(investor, acct.address.lower())
    assert f"{DOMAIN} wants you to sign in with your Ethereum account:\n{acct.address}\n" in ch.message
    assert "Chain ID: 31337" in ch.message and f"Nonce: {ch.nonce}" in ch.message
    wallet = services.wallet_link(actor=investor, message=ch.message, signature=_sign(ch.message, acct.key),
                                  domain=DOMAIN)
    assert wallet.address == acct.address and wallet.kind == Wallet.Kind.SELF_CUSTODY
    assert investor.investor_profile.wallets.count() == 2
    # A second wallet for the same investor.
    other = Account.create()
    ch2 = _challenge(investor, other.address)
    services.wallet_link(actor=investor, message=ch2.message, signature=_sign(ch2.message, other.key), domain=DOMAIN)
    assert investor.investor_profile.wallets.count() == 3


def _code(fn) -> str:
    with pytest.raises(ApplicationError) as exc:
        fn()
    return exc.value.code


def test_forged_signature_is_rejected_and_burns_the_nonce(investor, acct):
    make_profile(investor)
    ch = _challenge(investor, acct.address)
    forger = Account.create()
    assert _code(lambda: services.wallet_link(actor=investor, message=ch.message,
                                              signature=_sign(ch.message, forger.key), domain=DOMAIN)) \
        == "siwe_bad_signature"
    assert _code(lambda: services.wallet_link(actor=investor, message=ch.message,
                                              signature=_sign(ch.message, acct.key), domain=DOMAIN)) \
        == "siwe_nonce_used"
    assert not Wallet.objects.filter(address=acct.address).exists()


def test_replayed_signature_is_rejected(investor, acct):
    make_profile(investor)
    ch = _challenge(investor, acct.address)
    sig = _sign(ch.message, acct.key)
    services.wallet_link(actor=investor, message=ch.message, signature=sig, domain=DOMAIN)
    assert _code(lambda: services.wallet_link(actor=investor, message=ch.message, signature=sig,
                                              domain=DOMAIN)) == "siwe_nonce_used"


def test_expired_nonce_is_rejected(investor, acct):
    make_profile(investor)
    ch = _challenge(investor, acct.address)
    WalletChallenge.objects.filter(pk=ch.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _code(lambda: services.wallet_link(actor=investor, message=ch.message,
                                              signature=_sign(ch.message, acct.key), domain=DOMAIN)) == "siwe_expired"


@pytest.mark.parametrize(("old", "new", "code"), [
    ("Chain ID: 31337", "Chain ID: 1", "siwe_chain_mismatch"),
    (f"{DOMAIN} wants", "evil.test wants", "siwe_domain_mismatch"),
    ("Link this wallet", "Drain this wallet", "siwe_altered"),
])
def test_tampered_messages_are_rejected(investor, acct, old, new, code):
    make_profile(investor)
    ch = _challenge(investor, acct.address)
    msg = ch.message.replace(old, new)
    assert _code(lambda: services.wallet_link(actor=investor, message=msg, signature=_sign(msg, acct.key),
                                              domain=DOMAIN)) == code


def test_address_mismatch_and_foreign_nonce_are_rejected(investor, acct, user_with_role):
    from core.roles import Role

    make_profile(investor)
    ch = _challenge(investor, acct.address)
    other = Account.create()
    msg = ch.message.replace(acct.address, other.address)
    assert _code(lambda: services.wallet_link(actor=investor, message=msg, signature=_sign(msg, other.key),
                                              domain=DOMAIN)) == "siwe_address_mismatch"
    ch2 = _challenge(investor, other.address)
    intruder = user_with_role(Role.INVESTOR)
    make_profile(intruder)
    assert _code(lambda: services.wallet_link(actor=intruder, message=ch2.message,
                                              signature=_sign(ch2.message, other.key), domain=DOMAIN)) \
        == "siwe_unknown_nonce"


def test_a_wallet_cannot_be_linked_twice(investor, acct):
    profile = make_profile(investor)
    custodial = profile.wallets.get()
    assert _code(lambda: _challenge(investor, custodial.address)) == "wallet_taken"
    assert _code(lambda: _challenge(investor, "0x123")) == "invalid_address"

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from compliance.models import KycCase
from compliance.tests.factories import make_case, make_profile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("identity_registry_row")]


def test_wallet_link_over_the_api_and_replay_is_rejected(api_as, investor):
    make_profile(investor)
    api = api_as(investor)
    acct = Account.create()
    r = api.post("/api/v1/compliance/wallets/challenge/", {"address": acct.address}, HTTP_HOST="testserver")
    assert r.status_code == 201
    msg = r.json()["message"]
    assert msg.startswith("testserver wants you to sign in")
    sig = Account.sign_message(encode_defunct(text=msg), private_key=acct.key).signature.hex()
    r = api.post("/api/v1/compliance/wallets/link/", {"message": msg, "signature": sig})
    assert r.status_code == 201 and r.json()["address"] == acct.address
    r = api.post("/api/v1/compliance/wallets/link/", {"message": msg, "signature": sig})
    assert r.status_code == 400 and r.json()["error"]["code"] == "siwe_nonce_used"
    status = api.get("/api/v1/compliance/kyc/").json()
    assert status["eligible"] is False and len(status["wallets"]) == 2
    assert all("key" not in w for w in status["wallets"])


def test_officer_api_queue_and_decisions(api_as, investor, compliance_officer):
    case = make_case(investor, status=KycCase.Status.IN_REVIEW, officer=compliance_officer)
    api = api_as(compliance_officer)
    r = api.get("/api/v1/compliance/queue/", {"status": "in_review"})
    assert [c["id"] for c in r.json()] == [case.pk]
    r = api.post(f"/api/v1/compliance/cases/{case.pk}/reject/", {"reason": ""})
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"
    r = api.post(f"/api/v1/compliance/cases/{case.pk}/approve/", {})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    status = api_as(investor).get("/api/v1/compliance/kyc/").json()
    assert status["eligible"] is True
    # Queued is not effective: the API says the registration still waits for the chain.
    [wallet] = status["wallets"]
    assert wallet["registered_on_chain"] is False and wallet["chain_status"] == "pending"
    assert wallet["chain_state"].startswith("Registration pending")


def test_investor_cannot_use_officer_api(api_as, investor):
    case = make_case(investor)
    api = api_as(investor)
    assert api.get("/api/v1/compliance/queue/").json()["error"]["code"] == "permission_denied"
    assert api.post(f"/api/v1/compliance/cases/{case.pk}/approve/", {}).status_code == 403

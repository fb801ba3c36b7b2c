"""Four-eyes that holds (issue 9, item 4): clearing and approving are different officers,
a case that was ever high risk needs two approvers, and no officer reviews an investor
they created or who shares their organisation's email domain."""

import datetime as dt

import pytest

from accounts.services import membership_grant
from accounts.tests.factories import make_user
from compliance import services
from compliance.models import KycCase
from compliance.tests.factories import make_case
from core.errors import ApplicationError
from core.roles import Role
from notifications.models import Notification

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("identity_registry_row")]
S = KycCase.Status
LISTED = {"legal_name": "Dmitri Sergeyevich Volkov", "date_of_birth": dt.date(1965, 3, 12)}


def _officer(**kw):
    return make_user(Role.COMPLIANCE_OFFICER, **kw)


def _code(fn, **kw) -> str:
    with pytest.raises(ApplicationError) as exc:
        fn(**kw)
    return exc.value.code


def test_officer_who_cleared_a_sanctions_hit_cannot_approve_the_case(sdn_loaded, investor):
    clearer, approver, second = _officer(), _officer(), _officer()
    case = make_case(investor, status=S.IN_REVIEW, officer=clearer, **LISTED)
    services.screening_hit_clear(actor=clearer, hit=case.hits.get(), reason="Different person: passport differs")
    assert _code(services.kyc_case_approve, actor=clearer, case=case) == "four_eyes"
    services.kyc_case_approve(actor=approver, case=case)
    assert services.kyc_case_approve(actor=second, case=case).status == S.APPROVED


def test_case_that_was_high_risk_needs_two_approvers_after_its_score_drops(sdn_loaded, investor):
    clearer, first, second = _officer(), _officer(), _officer()
    case = make_case(investor, status=S.IN_REVIEW, officer=clearer, **LISTED)
    assert case.risk_level == KycCase.Risk.HIGH
    services.screening_hit_clear(actor=clearer, hit=case.hits.get(), reason="Different person: passport differs")
    case.refresh_from_db()
    assert case.risk_level != KycCase.Risk.HIGH and case.was_high_risk
    case = services.kyc_case_approve(actor=first, case=case)
    assert case.status == S.IN_REVIEW and case.first_approver == first  # only the first of two
    assert _code(services.kyc_case_approve, actor=first, case=case) == "four_eyes"
    assert services.kyc_case_approve(actor=second, case=case).status == S.APPROVED


def test_officer_who_approved_cannot_clear_the_hit_that_put_the_investor_on_hold(
        investor, compliance_officer, compliance_officer2, sdn_csv_path):
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer, **LISTED)
    services.sanctions_load(actor=None, path=sdn_csv_path)
    hit = case.hits.get()
    assert _code(services.screening_hit_clear, actor=compliance_officer, hit=hit,
                 reason="Different person: passport differs") == "four_eyes"
    services.screening_hit_clear(actor=compliance_officer2, hit=hit, reason="Different person: passport differs")


def test_officer_cannot_review_an_investor_from_their_own_email_organisation():
    insider = make_user(Role.INVESTOR, email="ivy@acme-capital.com")
    case = make_case(insider)
    colleague = _officer(email="olga@acme-capital.com")
    assert _code(services.kyc_case_start_review, actor=colleague, case=case) == "conflict_of_interest"
    # A public mail provider says nothing about an employer.
    public = make_case(make_user(Role.INVESTOR, email="ivy@gmail.com"))
    assert services.kyc_case_start_review(actor=_officer(email="olga@gmail.com"), case=public).status == S.IN_REVIEW
    assert services.kyc_case_start_review(actor=_officer(), case=case).status == S.IN_REVIEW


def test_officer_cannot_review_an_investor_account_they_created():
    creator = _officer()
    user = make_user(Role.CLINIC_STAFF)
    membership_grant(actor=creator, user=user, role=Role.INVESTOR, organization=None)
    case = make_case(user)
    assert _code(services.kyc_case_start_review, actor=creator, case=case) == "conflict_of_interest"
    case = services.kyc_case_start_review(actor=_officer(), case=case)
    assert _code(services.kyc_case_approve, actor=creator, case=case) == "conflict_of_interest"


def _waiting(officer) -> list:
    """The four-eyes notices an officer got (every officer also hears of each submission)."""
    return list(Notification.objects.filter(recipient=officer, category="kyc").exclude(
        title__endswith="waits for review").order_by("pk").values_list("title", "url"))


def test_every_compliance_officer_hears_when_a_case_is_submitted(investor):
    officers = [_officer(), _officer()]
    case = make_case(investor, status=S.SUBMITTED)
    for officer in officers:
        notice = Notification.objects.get(recipient=officer, title=f"KYC case #{case.pk} waits for review")
        assert notice.url == f"/compliance/cases/{case.pk}/" and "risk" in notice.body
    assert not Notification.objects.filter(recipient=investor, title__endswith="waits for review").exists()


def test_the_other_officers_hear_when_a_high_risk_case_waits_for_their_approval(sdn_loaded, investor):
    clearer, first, second = _officer(), _officer(), _officer()
    case = make_case(investor, status=S.IN_REVIEW, officer=clearer, **LISTED)
    services.screening_hit_clear(actor=clearer, hit=case.hits.get(), reason="Different person: passport differs")
    # The one who cleared the last hit may not approve: the others hear the case is theirs to decide.
    cleared = (f"KYC case #{case.pk}: sanctions hits cleared, another officer decides", f"/compliance/cases/{case.pk}/")
    assert _waiting(first) == _waiting(second) == [cleared] and _waiting(clearer) == []
    services.kyc_case_approve(actor=first, case=case, reason="Documents match")
    second_approval = (f"KYC case #{case.pk} waits for a second approval", f"/compliance/cases/{case.pk}/")
    assert _waiting(second) == [cleared, second_approval]
    assert _waiting(clearer) == []  # whoever cleared a hit may approve neither time
    assert _waiting(first) == [cleared]  # the first approver cannot give the second
    body = Notification.objects.get(recipient=second, title=second_approval[0]).body
    assert first.email in body and investor.email not in body
    assert not Notification.objects.filter(recipient=investor, title__contains="second approval").exists()
    services.kyc_case_approve(actor=second, case=case)
    assert Notification.objects.filter(title=second_approval[0]).count() == 1  # only the one who could; once


def test_a_low_risk_approval_asks_nobody_else(investor):
    officer, other = _officer(), _officer()
    make_case(investor, status=S.APPROVED, officer=officer)
    assert _waiting(other) == [] and _waiting(officer) == []

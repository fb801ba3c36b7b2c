import datetime as dt

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from chain.models import ChainTransaction
from compliance import selectors, services
from compliance.models import InvestorProfile, KycCase
from compliance.tests.factories import make_case
from core.errors import ApplicationError
from core.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("identity_registry_row")]
S = KycCase.Status


def test_erasure_request_restricts_processing_and_schedules_purge(investor, compliance_officer, settings):
    settings.RETENTION_YEARS_AFTER_RELATIONSHIP = 5
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    assert selectors.investor_is_eligible(user=investor)
    profile = services.erasure_request(actor=investor, user=investor)
    assert profile.processing_restricted
    assert profile.purge_after.year == profile.relationship_ended_at.year + 5
    assert not selectors.investor_is_eligible(user=investor)
    case.refresh_from_db()
    assert case.status == S.REVOKED
    assert ChainTransaction.objects.filter(function="deleteIdentity").count() == profile.wallets.count()
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_open(actor=investor)
    assert exc.value.code == "processing_restricted"
    with pytest.raises(ApplicationError):
        services.investor_profile_save(actor=investor, user=investor, legal_name="New Name")


def test_purge_waits_for_the_retention_period(investor):
    make_case(investor)
    profile = services.erasure_request(actor=investor, user=investor)
    assert services.investors_purge_due() == 0
    with pytest.raises(ApplicationError):
        services.investor_purge(profile=profile)


def test_purge_deletes_documents_and_personal_data_but_keeps_facts(investor, compliance_officer):
    case = make_case(investor, status=S.IN_REVIEW, officer=compliance_officer)
    services.kyc_case_reject(actor=compliance_officer, case=case, reason="Erin Example's passport is forged")
    doc_paths = [d.file.name for d in case.documents.all()]
    hashes = sorted(case.documents.values_list("sha256", flat=True))
    email = investor.email
    profile = services.erasure_request(actor=investor, user=investor)
    InvestorProfile.objects.filter(pk=profile.pk).update(purge_after=timezone.now() - dt.timedelta(days=1))
    from compliance.tasks import investors_purge_due

    assert investors_purge_due() == 1
    profile.refresh_from_db()
    investor.refresh_from_db()
    assert profile.purged_at and profile.legal_name == "" and profile.date_of_birth is None and profile.address == ""
    assert not investor.is_active and email not in investor.email and not investor.has_usable_password()
    assert not any(default_storage.exists(p) for p in doc_paths)
    assert sorted(case.documents.values_list("sha256", flat=True)) == hashes  # evidence hashes stay
    assert all(d.purged_at for d in case.documents.all())
    # The trail keeps what happened and when, without the personal data.
    events = AuditEvent.objects.all()
    assert events.filter(action="compliance.kyc_case_reject").exists()
    assert events.filter(action="compliance.document_upload").count() == 3
    for ev in events:
        blob = f"{ev.actor_label}{ev.object_repr}{ev.before}{ev.after}{ev.reason}"
        assert email not in blob and "Erin Example" not in blob
    decisions = list(case.decisions.all())
    assert [d.action for d in decisions][-1] == "rejected"
    assert all("Erin Example" not in d.reason for d in decisions)
    assert decisions[-1].actor_label == compliance_officer.email  # the officer is not the erased party
    # Purging twice is harmless.
    assert services.investor_purge(profile=profile).purged_at == profile.purged_at

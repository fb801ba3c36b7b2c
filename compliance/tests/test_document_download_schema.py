"""Found by scripts/fuzz_api.py: a KYC document is served with its own type (PDF, PNG or
JPEG), so the schema documents those types rather than a generic octet-stream."""

import pytest

from compliance.models import KycCase, KycDocument
from compliance.tests.factories import make_case
from core.tests.openapi import _schema

pytestmark = pytest.mark.django_db


def test_kyc_document_download_is_served_with_a_type_the_schema_documents(client):
    case = make_case(status=KycCase.Status.SUBMITTED)
    doc = KycDocument.objects.filter(case=case).first()
    client.force_login(case.profile.user)
    r = client.get(f"/api/v1/compliance/documents/{doc.pk}/")
    assert r.status_code == 200
    documented = _schema()["paths"]["/api/v1/compliance/documents/{id}/"]["get"]["responses"]["200"]["content"]
    assert r["Content-Type"] in documented
    assert set(documented) == {"application/pdf", "image/png", "image/jpeg"}

"""API parity (issue 9, item 12): every compliance web action has an API operation in the
OpenAPI schema, and the new operations do what the web actions do."""

import re

import pytest
from django.urls import URLPattern
from drf_spectacular.generators import SchemaGenerator

from compliance import urls as web_urls
from compliance import views
from compliance.api_urls import WEB_API_TWINS
from compliance.models import KycCase
from compliance.tests.factories import PROFILE, make_case, upload

pytestmark = pytest.mark.django_db


def _web_actions() -> set[str]:
    names = {p.name for p in web_urls.urlpatterns if isinstance(p, URLPattern)}
    names.discard("case-action")  # one URL, one action per slug
    return names | {f"case-action:{slug}" for slug in views.ACTIONS}


def test_every_compliance_web_action_has_an_api_twin_in_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    # Path parameter names are the schema's business ({pk} may be published as {id}).
    paths = {re.sub(r"\{[^}]+\}", "{}", p): ops for p, ops in schema["paths"].items()}
    missing = sorted(_web_actions() - set(WEB_API_TWINS))
    assert not missing, f"web actions without an API twin: {missing}"
    absent = [(name, method, path) for name, twins in WEB_API_TWINS.items() for method, path in twins
              if method not in paths.get(re.sub(r"\{[^}]+\}", "{}", path), {})]
    assert not absent, f"API twins missing from the OpenAPI schema: {absent}"


def test_investor_does_the_whole_kyc_through_the_api(api_as, investor, compliance_officer, compliance_officer2,
                                                     identity_registry_row):
    me = api_as(investor)
    body = {**PROFILE, "date_of_birth": PROFILE["date_of_birth"].isoformat(),
            "intended_amount": str(PROFILE["intended_amount"])}
    assert me.put("/api/v1/compliance/profile/", body, format="json").status_code == 200
    for kind in ("identity", "proof_of_address", "accreditation"):
        r = me.post("/api/v1/compliance/case/documents/", {"kind": kind, "file": upload(f"{kind}.pdf")},
                    format="multipart")
        assert r.status_code == 201, r.content
    r = me.post("/api/v1/compliance/case/submit/")
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    case_id = r.json()["id"]
    # Read-only while with the officers.
    r = me.put("/api/v1/compliance/profile/", {**body, "address": "2 Other Street"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "profile_locked"
    officer = api_as(compliance_officer)
    assert officer.post(f"/api/v1/compliance/cases/{case_id}/start-review/", {}).json()["status"] == "in_review"
    assert officer.post(f"/api/v1/compliance/cases/{case_id}/approve/", {}).json()["status"] == "approved"
    detail = officer.get(f"/api/v1/compliance/cases/{case_id}/").json()
    assert len(detail["documents"]) == 3 and detail["registry_failures"] == []
    doc = me.get(f"/api/v1/compliance/documents/{detail['documents'][0]['id']}/")
    assert doc.status_code == 200 and doc.content.startswith(b"%PDF")
    pdf = officer.get(f"/api/v1/compliance/cases/{case_id}/export/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    r = officer.post(f"/api/v1/compliance/cases/{case_id}/revoke/", {"reason": "Adverse media found"})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = me.post("/api/v1/compliance/erasure/", {"confirm": True})
    assert r.status_code == 200 and r.json()["processing_restricted"] is True


def test_officer_clears_a_hit_through_the_api_and_another_approves(
        api_as, sdn_loaded, investor, compliance_officer, compliance_officer2, identity_registry_row):
    import datetime as dt

    case = make_case(investor, status=KycCase.Status.IN_REVIEW, officer=compliance_officer,
                     legal_name="Dmitri Sergeyevich Volkov", date_of_birth=dt.date(1965, 3, 12))
    hit = case.hits.get()
    r = api_as(compliance_officer).post(f"/api/v1/compliance/hits/{hit.pk}/clear/",
                                        {"reason": "Different person: passport differs"})
    assert r.status_code == 200 and r.json()["status"] == "cleared"
    r = api_as(compliance_officer).post(f"/api/v1/compliance/cases/{case.pk}/approve/", {})
    assert r.status_code == 409 and r.json()["error"]["code"] == "four_eyes"

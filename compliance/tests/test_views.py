import io

import pytest
from django.urls import reverse

from compliance.models import KycCase
from compliance.tests.factories import make_case, make_profile, pdf_bytes
from core.models import AuditEvent
from core.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("identity_registry_row")]
S = KycCase.Status


def test_investor_reads_own_document_and_every_view_is_audited(client, investor):
    case = make_case(investor)
    doc = case.documents.first()
    client.force_login(investor)
    r = client.get(reverse("compliance:document", args=[doc.pk]))
    assert r.status_code == 200 and r.content == pdf_bytes()
    assert r["Content-Type"] == "application/pdf" and r["Content-Disposition"].startswith("inline")
    ev = AuditEvent.objects.get(action="compliance.document_view")
    assert ev.actor == investor and ev.object_id == str(doc.pk) and ev.after["sha256"] == doc.sha256


def test_another_investors_document_is_404(client, investor, user_with_role):
    doc = make_case(user_with_role(Role.INVESTOR)).documents.first()
    client.force_login(investor)
    assert client.get(reverse("compliance:document", args=[doc.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="compliance.document_view").exists()


def test_officer_can_view_documents(client, investor, compliance_officer):
    doc = make_case(investor).documents.first()
    client.force_login(compliance_officer)
    assert client.get(reverse("compliance:document", args=[doc.pk])).status_code == 200
    assert AuditEvent.objects.filter(action="compliance.document_view", actor=compliance_officer).count() == 1


def test_investors_never_see_the_queue(client, investor):
    make_case(investor)
    client.force_login(investor)
    assert client.get(reverse("compliance:queue")).status_code == 403
    assert client.get(reverse("compliance:case", args=[1])).status_code == 403


def test_queue_is_oldest_first_and_filters(client, compliance_officer, user_with_role):
    first = make_case(user_with_role(Role.INVESTOR), legal_name="Alice First", residence_country="DE",
                      tax_residence="DE")
    second = make_case(user_with_role(Role.INVESTOR), legal_name="Bob Second", is_pep=True,
                       intended_amount="5000000")
    client.force_login(compliance_officer)
    html = client.get(reverse("compliance:queue")).content.decode()
    assert html.index("Alice First") < html.index("Bob Second")
    html = client.get(reverse("compliance:queue"), {"risk": "high"}).content.decode()
    assert "Bob Second" in html and "Alice First" not in html
    html = client.get(reverse("compliance:queue"), {"country": "DE"}).content.decode()
    assert "Alice First" in html and "Bob Second" not in html
    assert second.pk != first.pk


def test_officer_decides_from_the_case_page(client, investor, compliance_officer):
    case = make_case(investor)
    client.force_login(compliance_officer)
    page = client.get(reverse("compliance:case", args=[case.pk])).content.decode()
    assert "Erin Example" in page and case.documents.first().sha256[:12] in page
    client.post(reverse("compliance:case-action", args=[case.pk, "start-review"]))
    r = client.post(reverse("compliance:case-action", args=[case.pk, "reject"]), {"reason": ""}, follow=True)
    assert "Give a reason" in r.content.decode()
    r = client.post(reverse("compliance:case-action", args=[case.pk, "approve"]), {"reason": "ok"}, follow=True)
    assert "Case approved" in r.content.decode()
    case.refresh_from_db()
    assert case.status == S.APPROVED


def test_case_file_pdf_export(client, investor, compliance_officer):
    from pypdf import PdfReader

    case = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    client.force_login(compliance_officer)
    r = client.get(reverse("compliance:case-export", args=[case.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages).replace("\n", " ")
    assert f"KYC case file #{case.pk}" in text and "Erin Example" in text
    # Table cells wrap long values across lines; compare those without whitespace.
    compact = text.replace(" ", "")
    assert compliance_officer.email in compact and "approved" in text
    for doc in case.documents.all():
        assert doc.sha256[:32] in compact
    assert "No possible matches" in text
    assert AuditEvent.objects.filter(action="compliance.case_export", actor=compliance_officer).exists()


def test_investor_cannot_export(client, investor):
    case = make_case(investor)
    client.force_login(investor)
    assert client.get(reverse("compliance:case-export", args=[case.pk])).status_code == 403


def test_onboarding_page_shows_status_and_next_step(client, investor):
    client.force_login(investor)
    r = client.get(reverse("compliance:onboarding"))
    assert "Start by completing your investor profile" in r.content.decode()
    make_case(investor)
    page = client.get(reverse("compliance:onboarding")).content.decode()
    assert "Submitted" in page and "waiting for a compliance officer" in page


def test_profile_form_round_trip(client, investor):
    client.force_login(investor)
    r = client.post(reverse("compliance:profile"), {
        "legal_name": "Erin Example", "date_of_birth": "1990-01-02", "residence_country": "SG",
        "address": "1 Marina Way", "investor_type": "individual", "accreditation_basis": "non_us",
        "tax_residence": "SG", "intended_amount": "1000.50", "intended_currency": "USD",
    })
    assert r.status_code == 302
    profile = investor.investor_profile
    assert profile.residence_country_numeric == 702 and str(profile.intended_amount) == "1000.50"
    r = client.post(reverse("compliance:profile"), {"legal_name": ""})
    assert "This field is required." in r.content.decode()


def test_dashboard_panels(client, investor, compliance_officer):
    make_profile(investor)
    client.force_login(investor)
    assert "Your KYC" in client.get(reverse("core:dashboard")).content.decode()
    client.force_login(compliance_officer)
    assert "KYC review queue" in client.get(reverse("core:dashboard")).content.decode()


def test_an_approved_investor_hit_by_a_list_reload_is_on_hold_for_officers_and_investor(
        client, investor, compliance_officer, sdn_xml_path, sdn_csv_path):
    import datetime as dt

    from compliance import services

    services.sanctions_load(actor=None, path=sdn_xml_path)
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer,
                     legal_name="Zoran Markovic", date_of_birth=dt.date(1958, 7, 3))
    services.sanctions_load(actor=None, path=sdn_csv_path)
    client.force_login(compliance_officer)
    queue = client.get(reverse("compliance:queue")).content.decode()
    assert f"Case #{case.pk}" in queue and "(on hold)" in queue
    assert "approved investor(s) on hold" in client.get("/dashboard/").content.decode()
    assert "On hold: a sanctions-list reload" in client.get(reverse("compliance:case", args=[case.pk])).content.decode()
    client.force_login(investor)
    page = client.get(reverse("compliance:onboarding")).content.decode()
    assert "on hold pending a compliance check" in page and "You cannot invest yet." in page
    # The queued suspension (a batch expiry write naming the wallet) is shown as not yet effective.
    assert "Suspension pending: waiting for the blockchain" in page


def test_a_wallet_not_registered_yet_is_not_reported_as_an_unreachable_chain(client, investor):
    """Regression (issue 18): the live check said "Chain not reachable" for a wallet whose
    registration had simply not been written yet, while the chain was up."""
    profile = make_profile(investor)
    assert profile.wallets.exists() and not profile.wallets.filter(registered_on_chain=True).exists()
    client.force_login(investor)
    page = client.get(reverse("compliance:onboarding")).content.decode()
    assert "Not registered yet" in page and "Chain not reachable" not in page

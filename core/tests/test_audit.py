import pytest

from core.models import AuditEvent
from core.services import audit

pytestmark = pytest.mark.django_db


def test_audit_records_who_what_why(investor):
    ev = audit(actor=investor, action="test.thing", obj=investor, before={"a": 1}, after={"a": 2},
               reason="because")
    ev.refresh_from_db()
    assert (ev.actor, ev.actor_label, ev.action, ev.reason) == (investor, investor.email, "test.thing", "because")
    assert ev.object_type == "accounts.user" and ev.object_id == str(investor.pk)
    assert ev.before == {"a": 1} and ev.after == {"a": 2}


def test_audit_trail_is_append_only(investor):
    ev = audit(actor=investor, action="test.thing")
    ev.reason = "rewritten"
    with pytest.raises(PermissionError):
        ev.save()
    with pytest.raises(PermissionError):
        ev.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.update(reason="x")
    assert AuditEvent.objects.get(pk=ev.pk).reason == ""


def test_request_id_is_recorded(client):
    client.post("/accounts/signup/investor/", {
        "full_name": "Rita Req", "email": "rita@example.test",
        "password1": "a-long-enough-pass-1", "password2": "a-long-enough-pass-1",
    }, HTTP_X_REQUEST_ID="req-123")
    assert AuditEvent.objects.get(action="accounts.investor_signup").request_id == "req-123"


def test_audit_page_filters_and_is_for_officers_only(client, compliance_officer, investor):
    audit(actor=investor, action="kyc.case_submit", reason="first")
    audit(actor=investor, action="device.submit", reason="second")
    client.force_login(investor)
    assert client.get("/audit/").status_code == 403
    client.force_login(compliance_officer)
    body = client.get("/audit/?action=kyc").content.decode()
    assert "kyc.case_submit" in body and "device.submit" not in body

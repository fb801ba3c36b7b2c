"""Found by the permission matrix: the statement is looked up (another clinic's is a 404)
before the request body is judged, so a stranger never gets as far as a validation error."""

import pytest

from accounts.tests.factories import make_user
from core.permissions import Role
from tokens.models import DistributionStatus
from tokens.tests.factories import clinic_admin_of, make_live_offering
from tokens.tests.test_distribution_views import open_distribution

pytestmark = pytest.mark.django_db


def test_disputing_another_clinics_statement_is_404_even_with_an_empty_body(api_as):
    d = open_distribution(make_live_offering())
    stranger = make_user(Role.CLINIC_ADMIN)
    url = f"/api/v1/tokens/distributions/{d.public_id}/dispute/"
    for body in ({}, {"reason": "numbers look wrong"}):
        r = api_as(stranger).post(url, body, format="json")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    d.refresh_from_db()
    assert d.status == DistributionStatus.AWAITING_CLINIC and not d.dispute_reason
    # The clinic's own admin still gets the validation error for an empty reason.
    r = api_as(clinic_admin_of(d.offering.device)).post(url, {}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["error"]["details"]

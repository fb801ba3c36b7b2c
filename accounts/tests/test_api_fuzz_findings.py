"""Found by scripts/fuzz_api.py: the team and signup APIs answer bad input with a 400 in the
error shape and answer good input exactly as the published schema says."""

import pytest
from rest_framework.test import APIClient

from core.tests.openapi import assert_matches_schema

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("clinic", ["abc", "false", "\x1a\xf2", "1.5"])
def test_team_list_with_a_non_numeric_clinic_is_a_validation_error_not_a_server_error(api_as, clinic_admin,
                                                                                      clinic):
    r = api_as(clinic_admin).get("/api/v1/accounts/team/", {"clinic": clinic})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "validation_error" and "clinic" in r.json()["error"]["details"]


def test_team_list_without_or_with_an_empty_clinic_is_the_first_clinic(api_as, clinic_admin):
    clinic = clinic_admin.memberships.get().organization
    for params in ({}, {"clinic": ""}, {"clinic": clinic.pk}):
        r = api_as(clinic_admin).get("/api/v1/accounts/team/", params)
        assert r.status_code == 200 and {m["clinic_id"] for m in r.json()} == {clinic.pk}


def test_clinic_signup_answers_with_the_time_zone_the_schema_promises():
    r = APIClient().post("/api/v1/auth/signup/clinic/", {
        "email": "head@zone.test", "password": "a-long-Passw0rd!", "full_name": "Dr Zone",
        "clinic_name": "Zone Imaging"}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["time_zone"]
    assert_matches_schema(r, "/api/v1/auth/signup/clinic/", "post")

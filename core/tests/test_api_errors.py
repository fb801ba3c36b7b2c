import pytest

pytestmark = pytest.mark.django_db


def _shape(body):
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_unauthenticated_api_gets_401_in_error_shape(api_client):
    r = api_client.get("/api/v1/me/")
    assert r.status_code in (401, 403)
    assert _shape(r.json())["code"] in ("not_authenticated", "authentication_failed")


def test_unknown_api_url_is_json_404(client):
    r = client.get("/api/v1/no-such-thing/")
    assert r.status_code == 404
    assert _shape(r.json())["code"] == "not_found"


def test_validation_error_lists_fields(api_client):
    r = api_client.post("/api/v1/auth/signup/investor/", {"email": "not-an-email"}, format="json")
    assert r.status_code == 400
    err = _shape(r.json())
    assert err["code"] == "validation_error"
    assert {"email", "password", "full_name"} <= set(err["details"])


def test_application_error_carries_code_and_status(api_client, investor):
    api_client.post("/api/v1/auth/signup/investor/",
                    {"email": "x@example.test", "password": "a-long-enough-pass-1", "full_name": "X"})
    r = api_client.post("/api/v1/auth/signup/investor/",
                        {"email": "x@example.test", "password": "a-long-enough-pass-1", "full_name": "X"})
    assert r.status_code == 409
    assert _shape(r.json())["code"] == "email_taken"


def test_role_protected_api_is_403_not_500(api_as, investor):
    r = api_as(investor).get("/api/v1/audit-events/")
    assert r.status_code == 403
    assert _shape(r.json())["code"] == "permission_denied"


def test_token_auth_roundtrip(api_client, investor):
    bad = api_client.post("/api/v1/auth/token/", {"email": investor.email, "password": "wrong"})
    assert bad.status_code == 401 and _shape(bad.json())["code"] == "invalid_credentials"
    from accounts.tests.factories import PASSWORD

    token = api_client.post("/api/v1/auth/token/", {"email": investor.email, "password": PASSWORD}).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api_client.get("/api/v1/me/").json()
    assert me["email"] == investor.email and me["roles"] == ["investor"]


def test_openapi_schema_is_served(client):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    assert b"/api/v1/me/" in r.content


def test_deeply_nested_json_is_400_not_a_dead_worker(client):
    import sys

    from django.urls import get_resolver

    get_resolver().url_patterns  # imports every app, web3 and with it py_ecc  # noqa: B018
    # py_ecc sets 100,000 on import; at that limit the body below overflows the C stack (segfault).
    assert sys.getrecursionlimit() <= 1000
    body = b"[" * 200_000 + b"]" * 200_000
    for url in ("/api/v1/auth/token/", "/api/v1/telemetry/batches"):
        r = client.post(url, body, content_type="application/json")
        assert r.status_code in {400, 401}, url
        assert set(r.json()["error"]) == {"code", "message", "details"}
    r = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_request"


@pytest.mark.parametrize("url", ["/api/v1/devices/?q=%00", "/api/v1/audit-events/?action=a%00b",
                                 "/devices/?status=%00", "/audit/?q=%00"])
def test_nul_in_the_query_string_is_400_not_a_database_error(client, platform_admin, url):
    # PostgreSQL refuses NUL in text: these were 500s there (found fuzzing on Postgres).
    client.force_login(platform_admin)
    r = client.get(url)
    assert r.status_code == 400
    if url.startswith("/api/"):
        assert r.json()["error"]["code"] == "malformed_request"
    assert client.get(url.replace("%00", "")).status_code == 200


def test_django_level_400_on_the_api_has_the_error_shape(client):
    r = client.get("/api/v1/me/", HTTP_HOST="evil.example")  # DisallowedHost → handler400
    assert r.status_code == 400
    assert _shape(r.json())["code"] == "bad_request"
    page = client.get("/dashboard/", HTTP_HOST="evil.example")
    assert page.status_code == 400 and b"Bad request" in page.content

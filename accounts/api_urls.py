"""The accounts API's routes (me, profile, password, language, time zone, token, signup, the clinic
team) and each web action's API twin."""

from django.urls import path

from accounts import api_views, team_api

urlpatterns = [
    path("me/", api_views.MeApi.as_view(), name="api-me"),
    path("me/password/", api_views.PasswordChangeApi.as_view(), name="api-me-password"),
    path("me/language/", api_views.LanguageApi.as_view(), name="api-me-language"),
    path("me/time-zone/", api_views.MeTimeZoneApi.as_view(), name="api-me-time-zone"),
    path("auth/token/", api_views.TokenObtainApi.as_view(), name="api-token"),
    path("auth/password-reset/", api_views.PasswordResetApi.as_view(), name="api-password-reset"),
    path("auth/password-reset/confirm/", api_views.PasswordResetConfirmApi.as_view(),
         name="api-password-reset-confirm"),
    path("auth/signup/investor/", api_views.InvestorSignupApi.as_view(), name="api-signup-investor"),
    # Clinic signup and clinic team management (twins of the web pages).
    path("auth/signup/clinic/", team_api.ClinicSignupApi.as_view(), name="api-signup-clinic"),
    path("accounts/team/", team_api.TeamApi.as_view(), name="api-team"),
    path("accounts/team/<int:membership_id>/remove/", team_api.TeamMemberRemoveApi.as_view(), name="api-team-remove"),
]

# Every web action that takes a POST and its API twin (method, path in the OpenAPI schema);
# core/tests/test_api_parity.py walks every app's web routes against these.
WEB_API_TWINS = {
    "signup-investor": [("post", "/api/v1/auth/signup/investor/")],
    "signup-clinic": [("post", "/api/v1/auth/signup/clinic/")],
    # A browser signs in to a session, a client exchanges the same credentials for a token.
    "login": [("post", "/api/v1/auth/token/")],
    "profile": [("get", "/api/v1/me/"), ("patch", "/api/v1/me/"), ("put", "/api/v1/me/time-zone/")],
    "password-change": [("post", "/api/v1/me/password/")],
    "password-reset": [("post", "/api/v1/auth/password-reset/")],
    "password-reset-confirm": [("post", "/api/v1/auth/password-reset/confirm/")],
    "set-language": [("post", "/api/v1/me/language/")],
    "team": [("get", "/api/v1/accounts/team/"), ("post", "/api/v1/accounts/team/")],
    "team-remove": [("post", "/api/v1/accounts/team/{membership_id}/remove/")],
}

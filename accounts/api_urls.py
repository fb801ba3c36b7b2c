"""The accounts app's API routes: me, language, time zone, token, signup, and the clinic team."""

from django.urls import path

from accounts import api_views

urlpatterns = [
    path("me/", api_views.MeApi.as_view(), name="api-me"),
    path("me/language/", api_views.LanguageApi.as_view(), name="api-me-language"),
    path("me/time-zone/", api_views.MeTimeZoneApi.as_view(), name="api-me-time-zone"),
    path("auth/token/", api_views.TokenObtainApi.as_view(), name="api-token"),
    path("auth/signup/investor/", api_views.InvestorSignupApi.as_view(), name="api-signup-investor"),
]

# Clinic signup and clinic team management (twins of the web pages).
from accounts import team_api  # noqa: E402

urlpatterns += [
    path("auth/signup/clinic/", team_api.ClinicSignupApi.as_view(), name="api-signup-clinic"),
    path("accounts/team/", team_api.TeamApi.as_view(), name="api-team"),
    path("accounts/team/<int:membership_id>/remove/", team_api.TeamMemberRemoveApi.as_view(), name="api-team-remove"),
]

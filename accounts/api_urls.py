from django.urls import path

from accounts import api_views

urlpatterns = [
    path("me/", api_views.MeApi.as_view(), name="api-me"),
    path("auth/token/", api_views.TokenObtainApi.as_view(), name="api-token"),
    path("auth/signup/investor/", api_views.InvestorSignupApi.as_view(), name="api-signup-investor"),
]

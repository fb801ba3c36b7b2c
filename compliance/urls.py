"""Compliance's web routes: onboarding, KYC, wallets, the officers' review queue."""

from django.urls import path

from compliance import views

app_name = "compliance"
urlpatterns = [
    path("investor/onboarding/", views.onboarding, name="onboarding"),
    path("investor/profile/", views.profile_edit, name="profile"),
    path("investor/wallets/", views.wallets, name="wallets"),
    path("investor/wallets/verify/<str:nonce>/", views.wallet_verify, name="wallet-verify"),
    path("investor/kyc/", views.kyc, name="kyc"),
    path("investor/kyc/submit/", views.kyc_submit, name="kyc-submit"),
    path("investor/erasure/", views.erasure, name="erasure"),
    path("kyc/documents/<int:pk>/", views.document_view, name="document"),
    path("compliance/queue/", views.queue, name="queue"),
    path("compliance/cases/<int:pk>/", views.case_detail, name="case"),
    path("compliance/cases/<int:pk>/export.pdf", views.case_export, name="case-export"),
    path("compliance/cases/<int:pk>/<slug:action>/", views.case_action, name="case-action"),
    path("compliance/hits/<int:pk>/clear/", views.hit_clear, name="hit-clear"),
]

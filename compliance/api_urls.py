from django.urls import path

from compliance import api_views

urlpatterns = [
    path("compliance/kyc/", api_views.KycStatusApi.as_view(), name="api-compliance-kyc"),
    path("compliance/wallets/challenge/", api_views.WalletChallengeApi.as_view(),
         name="api-compliance-wallet-challenge"),
    path("compliance/wallets/link/", api_views.WalletLinkApi.as_view(), name="api-compliance-wallet-link"),
    path("compliance/queue/", api_views.ReviewQueueApi.as_view(), name="api-compliance-queue"),
    path("compliance/cases/<int:pk>/approve/", api_views.CaseApproveApi.as_view(), name="api-compliance-approve"),
    path("compliance/cases/<int:pk>/reject/", api_views.CaseRejectApi.as_view(), name="api-compliance-reject"),
    path("compliance/cases/<int:pk>/request-info/", api_views.CaseRequestInfoApi.as_view(),
         name="api-compliance-request-info"),
]

"""Compliance's API routes (investor KYC, wallets, the officers' review queue) and each web
action's API twin."""

from django.urls import path

from compliance import api_views

urlpatterns = [
    path("compliance/kyc/", api_views.KycStatusApi.as_view(), name="api-compliance-kyc"),
    path("compliance/profile/", api_views.InvestorProfileApi.as_view(), name="api-compliance-profile"),
    path("compliance/case/", api_views.MyCaseApi.as_view(), name="api-compliance-my-case"),
    path("compliance/case/documents/", api_views.DocumentUploadApi.as_view(), name="api-compliance-document-upload"),
    path("compliance/case/submit/", api_views.CaseSubmitApi.as_view(), name="api-compliance-submit"),
    path("compliance/erasure/", api_views.ErasureApi.as_view(), name="api-compliance-erasure"),
    path("compliance/documents/<int:pk>/", api_views.DocumentDownloadApi.as_view(), name="api-compliance-document"),
    path("compliance/wallets/challenge/", api_views.WalletChallengeApi.as_view(),
         name="api-compliance-wallet-challenge"),
    path("compliance/wallets/link/", api_views.WalletLinkApi.as_view(), name="api-compliance-wallet-link"),
    path("compliance/queue/", api_views.ReviewQueueApi.as_view(), name="api-compliance-queue"),
    path("compliance/cases/<int:pk>/", api_views.CaseDetailApi.as_view(), name="api-compliance-case"),
    path("compliance/cases/<int:pk>/export/", api_views.CaseExportApi.as_view(), name="api-compliance-export"),
    path("compliance/cases/<int:pk>/start-review/", api_views.CaseStartReviewApi.as_view(),
         name="api-compliance-start-review"),
    path("compliance/cases/<int:pk>/approve/", api_views.CaseApproveApi.as_view(), name="api-compliance-approve"),
    path("compliance/cases/<int:pk>/reject/", api_views.CaseRejectApi.as_view(), name="api-compliance-reject"),
    path("compliance/cases/<int:pk>/request-info/", api_views.CaseRequestInfoApi.as_view(),
         name="api-compliance-request-info"),
    path("compliance/cases/<int:pk>/revoke/", api_views.CaseRevokeApi.as_view(), name="api-compliance-revoke"),
    path("compliance/cases/<int:pk>/resync/", api_views.CaseResyncApi.as_view(), name="api-compliance-resync"),
    path("compliance/hits/<int:pk>/clear/", api_views.HitClearApi.as_view(), name="api-compliance-hit-clear"),
]

# Every web action and its API twin (method, path in the OpenAPI schema); the parity test
# walks compliance.urls and compliance.views.ACTIONS against this and the schema.
WEB_API_TWINS = {
    "onboarding": [("get", "/api/v1/compliance/kyc/")],
    "profile": [("get", "/api/v1/compliance/profile/"), ("put", "/api/v1/compliance/profile/")],
    "wallets": [("get", "/api/v1/compliance/kyc/"), ("post", "/api/v1/compliance/wallets/challenge/")],
    "wallet-verify": [("post", "/api/v1/compliance/wallets/link/")],
    "kyc": [("get", "/api/v1/compliance/case/"), ("post", "/api/v1/compliance/case/documents/")],
    "kyc-submit": [("post", "/api/v1/compliance/case/submit/")],
    "erasure": [("post", "/api/v1/compliance/erasure/")],
    "document": [("get", "/api/v1/compliance/documents/{pk}/")],
    "queue": [("get", "/api/v1/compliance/queue/")],
    "case": [("get", "/api/v1/compliance/cases/{pk}/")],
    "case-export": [("get", "/api/v1/compliance/cases/{pk}/export/")],
    "hit-clear": [("post", "/api/v1/compliance/hits/{pk}/clear/")],
    "case-action:start-review": [("post", "/api/v1/compliance/cases/{pk}/start-review/")],
    "case-action:approve": [("post", "/api/v1/compliance/cases/{pk}/approve/")],
    "case-action:reject": [("post", "/api/v1/compliance/cases/{pk}/reject/")],
    "case-action:request-info": [("post", "/api/v1/compliance/cases/{pk}/request-info/")],
    "case-action:revoke": [("post", "/api/v1/compliance/cases/{pk}/revoke/")],
    "case-action:resync": [("post", "/api/v1/compliance/cases/{pk}/resync/")],
}

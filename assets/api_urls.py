"""The device API's routes: devices, UDI check, queues, verification, files, appraisals, certification."""

from django.urls import path

from assets import api_views as v

urlpatterns = [
    path("devices/", v.DeviceListCreateApi.as_view(), name="api-device-list"),
    path("devices/udi-check/", v.UdiCheckApi.as_view(), name="api-device-udi-check"),
    path("devices/appraisal-queue/", v.AppraisalQueueApi.as_view(), name="api-device-appraisal-queue"),
    path("devices/inspection-queue/", v.InspectionQueueApi.as_view(), name="api-device-inspection-queue"),
    path("devices/verify/<str:ref>/", v.VerifyApi.as_view(), name="api-device-verify"),
    path("devices/<int:pk>/", v.DeviceDetailApi.as_view(), name="api-device-detail"),
    path("devices/<int:pk>/submit/", v.DeviceSubmitApi.as_view(), name="api-device-submit"),
    path("devices/<int:pk>/request-changes/", v.DeviceRequestChangesApi.as_view(),
         name="api-device-request-changes"),
    path("devices/<int:pk>/retire/", v.DeviceRetireApi.as_view(), name="api-device-retire"),
    path("devices/<int:pk>/photos/", v.DevicePhotoCreateApi.as_view(), name="api-device-photos"),
    path("devices/<int:pk>/documents/", v.DeviceDocumentCreateApi.as_view(), name="api-device-documents"),
    path("devices/<int:pk>/appraisals/", v.AppraisalListCreateApi.as_view(), name="api-device-appraisals"),
    path("devices/<int:pk>/appraisals/<int:appraisal_pk>/sign/", v.AppraisalSignApi.as_view(),
         name="api-device-appraisal-sign"),
    path("devices/<int:pk>/certification/", v.CertificationCreateApi.as_view(),
         name="api-device-certification"),
    path("devices/<int:pk>/anchor/retry/", v.DeviceAnchorRetryApi.as_view(), name="api-device-anchor-retry"),
    path("devices/<int:pk>/depreciation/", v.DepreciationApi.as_view(), name="api-device-depreciation"),
]

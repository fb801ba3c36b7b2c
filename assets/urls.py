"""The assets app's web routes: devices and their files, appraisal, inspection, the queues, and the
public verification pages."""

from django.urls import path

from assets import views

app_name = "assets"
urlpatterns = [
    path("devices/", views.device_list, name="device-list"),
    path("devices/new/", views.device_create, name="device-create"),
    path("devices/<int:pk>/", views.device_detail, name="device-detail"),
    path("devices/<int:pk>/edit/", views.device_edit, name="device-edit"),
    path("devices/<int:pk>/submit/", views.device_submit, name="device-submit"),
    path("devices/<int:pk>/retire/", views.device_retire, name="device-retire"),
    path("devices/<int:pk>/request-changes/", views.device_request_changes, name="device-request-changes"),
    path("devices/<int:pk>/photos/add/", views.photo_add, name="photo-add"),
    path("devices/<int:pk>/photos/<int:photo_pk>/", views.photo_file, name="photo-file"),
    path("devices/<int:pk>/documents/add/", views.document_add, name="document-add"),
    path("devices/<int:pk>/documents/<int:doc_pk>/", views.document_file, name="document-file"),
    path("devices/<int:pk>/appraise/", views.appraise, name="appraise"),
    path("devices/<int:pk>/appraisals/<int:appraisal_pk>/", views.appraisal_detail, name="appraisal-detail"),
    path("devices/<int:pk>/appraisals/<int:appraisal_pk>/sign/", views.appraisal_sign, name="appraisal-sign"),
    path("devices/<int:pk>/appraisals/<int:appraisal_pk>/report.pdf", views.appraisal_pdf,
         name="appraisal-pdf"),
    path("devices/<int:pk>/inspect/", views.inspect, name="inspect"),
    path("devices/<int:pk>/anchor/retry/", views.device_anchor_retry, name="device-anchor-retry"),
    path("appraisals/queue/", views.appraisal_queue, name="appraisal-queue"),
    path("inspections/queue/", views.inspection_queue, name="inspection-queue"),
    path("verify/<str:ref>/", views.verify, name="verify"),
    path("verify/<str:ref>/certificate.pdf", views.verify_certificate, name="verify-certificate"),
    path("verify/<str:ref>/appraisal.pdf", views.verify_appraisal, name="verify-appraisal"),
]

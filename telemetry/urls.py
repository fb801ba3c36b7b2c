"""The telemetry app's web routes: device health, credentials, flags, tariffs, payer mix, revenue
periods."""

from django.urls import path

from telemetry import views

app_name = "telemetry"
urlpatterns = [
    path("telemetry/", views.health, name="health"),
    path("telemetry/devices/<int:device_id>/", views.device_detail, name="device"),
    path("telemetry/devices/<int:device_id>/credentials/", views.credentials, name="credentials"),
    path("telemetry/credentials/<int:credential_id>/revoke/", views.credential_revoke, name="credential-revoke"),
    path("telemetry/flags/<int:flag_id>/clear/", views.flag_clear, name="flag-clear"),
    path("telemetry/tariffs/", views.tariffs, name="tariffs"),
    path("telemetry/devices/<int:device_id>/periods/close/", views.revenue_period_close, name="period-close"),
    path("telemetry/periods/<int:period_id>/settle/", views.revenue_period_settle, name="period-settle"),
    path("telemetry/periods/<int:period_id>/adjust/", views.revenue_period_adjust, name="period-adjust"),
    path("telemetry/compute-tariffs/", views.compute_tariffs, name="compute-tariffs"),
    path("telemetry/devices/<int:device_id>/payer-mix/", views.payer_mix, name="payer-mix"),
]

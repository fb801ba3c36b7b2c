"""The telemetry API's routes: signed batches, credentials, usage, flags, tariffs, revenue periods,
payer mix."""

from django.urls import path

from telemetry import api_views

urlpatterns = [
    path("telemetry/batches", api_views.TelemetryBatchApi.as_view(), name="api-telemetry-batches"),
    path("telemetry/devices/<int:device_id>/credentials/", api_views.CredentialIssueApi.as_view(),
         name="api-telemetry-credential-issue"),
    path("telemetry/credentials/<int:credential_id>/revoke/", api_views.CredentialRevokeApi.as_view(),
         name="api-telemetry-credential-revoke"),
    path("telemetry/devices/<int:device_id>/usage/", api_views.DeviceUsageApi.as_view(),
         name="api-telemetry-device-usage"),
    path("telemetry/flags/", api_views.FlagListApi.as_view(), name="api-telemetry-flags"),
    path("telemetry/flags/<int:flag_id>/clear/", api_views.FlagClearApi.as_view(), name="api-telemetry-flag-clear"),
    path("telemetry/tariffs/", api_views.TariffListApi.as_view(), name="api-telemetry-tariffs"),
    path("telemetry/devices/<int:device_id>/periods/", api_views.RevenuePeriodListApi.as_view(),
         name="api-telemetry-periods"),
    path("telemetry/devices/<int:device_id>/periods/close/", api_views.RevenuePeriodCloseApi.as_view(),
         name="api-telemetry-period-close"),
    path("telemetry/periods/<int:period_id>/settle/", api_views.RevenuePeriodSettleApi.as_view(),
         name="api-telemetry-period-settle"),
    path("telemetry/periods/<int:period_id>/adjust/", api_views.RevenuePeriodAdjustApi.as_view(),
         name="api-telemetry-period-adjust"),
    path("telemetry/compute-tariffs/", api_views.ComputeTariffApi.as_view(), name="api-telemetry-compute-tariffs"),
    path("telemetry/devices/<int:device_id>/payer-mix/", api_views.PayerMixApi.as_view(),
         name="api-telemetry-payer-mix"),
]

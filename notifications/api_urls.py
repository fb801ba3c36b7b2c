"""The notifications API's routes and each web action's API twin."""

from django.urls import path

from notifications import api_views

urlpatterns = [
    path("notifications/", api_views.NotificationListApi.as_view(), name="api-notifications"),
    path("notifications/unread-count/", api_views.UnreadCountApi.as_view(), name="api-notifications-unread-count"),
    path("notifications/<int:pk>/read/", api_views.MarkReadApi.as_view(), name="api-notifications-read"),
    path("notifications/read-all/", api_views.MarkAllReadApi.as_view(), name="api-notifications-read-all"),
    path("notifications/preferences/", api_views.PreferencesApi.as_view(), name="api-notifications-preferences"),
]

# Every web action and its API twin (method, path in the OpenAPI schema).
WEB_API_TWINS = {
    "list": [("get", "/api/v1/notifications/"), ("get", "/api/v1/notifications/unread-count/")],
    "read": [("post", "/api/v1/notifications/{pk}/read/")],
    "read-all": [("post", "/api/v1/notifications/read-all/")],
    "preferences": [("get", "/api/v1/notifications/preferences/"), ("put", "/api/v1/notifications/preferences/")],
}

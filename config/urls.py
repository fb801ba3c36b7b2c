"""The root URLconf: each app's web and API routes, the OpenAPI schema and docs, the error handlers."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

# Each app owns its URL prefixes (web: <app>/urls.py, API: <app>/api_urls.py under /api/v1/).
APPS = ["accounts", "assets", "chain", "payments", "compliance", "telemetry", "tokens", "notifications"]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("core.urls")),
    path("", include("tokens.distributions.public_views")),  # /verify/distributions/…: before assets' /verify/<ref>/
    *[path("", include(f"{app}.urls")) for app in APPS],
    path("api/v1/", include("core.api_urls")),
    *[path("api/v1/", include(f"{app}.api_urls")) for app in APPS],
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"),
         name="api-redoc"),
]

handler400 = "core.views.error_400"
handler403 = "core.views.error_403"
handler404 = "core.views.error_404"
handler500 = "core.views.error_500"

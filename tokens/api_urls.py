from django.urls import path

from tokens import api_views

urlpatterns = [
    path("tokens/offerings/", api_views.OfferingListCreateApi.as_view(), name="api-token-offering-list"),
    path("tokens/offerings/<int:offering_id>/", api_views.OfferingDetailApi.as_view(),
         name="api-token-offering-detail"),
    path("tokens/offerings/<int:offering_id>/consent/", api_views.OfferingConsentApi.as_view(),
         name="api-token-offering-consent"),
    path("tokens/offerings/<int:offering_id>/deploy/", api_views.OfferingDeployApi.as_view(),
         name="api-token-offering-deploy"),
    path("tokens/offerings/<int:offering_id>/actions/", api_views.AgentActionCreateApi.as_view(),
         name="api-token-action-create"),
    path("tokens/actions/<int:action_id>/", api_views.AgentActionDetailApi.as_view(),
         name="api-token-action-detail"),
]

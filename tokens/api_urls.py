from django.urls import path

from tokens import api_views

urlpatterns = [
    path("tokens/offerings/<int:offering_id>/actions/", api_views.AgentActionCreateApi.as_view(),
         name="api-token-action-create"),
    path("tokens/actions/<int:action_id>/", api_views.AgentActionDetailApi.as_view(),
         name="api-token-action-detail"),
]

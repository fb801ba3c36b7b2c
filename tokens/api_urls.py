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
    path("tokens/invest/offerings/", api_views.InvestOfferingListApi.as_view(), name="api-token-invest-offerings"),
    path("tokens/orders/", api_views.OrderListCreateApi.as_view(), name="api-token-order-list"),
    path("tokens/orders/<uuid:order_id>/", api_views.OrderDetailApi.as_view(), name="api-token-order-detail"),
    path("tokens/orders/<uuid:order_id>/receipt/", api_views.OrderReceiptApi.as_view(),
         name="api-token-order-receipt"),
]

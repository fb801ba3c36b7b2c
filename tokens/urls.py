from django.urls import path

from tokens import views

app_name = "tokens"
urlpatterns = [
    path("offerings/", views.offering_list, name="offering-list"),
    path("offerings/new/", views.offering_create, name="offering-create"),
    path("offerings/<int:pk>/", views.offering_detail, name="offering-detail"),
    path("offerings/<int:pk>/status/", views.offering_status, name="offering-status"),
    path("offerings/<int:pk>/consent/", views.offering_consent, name="offering-consent"),
    path("offerings/<int:pk>/deploy/", views.offering_deploy, name="offering-deploy"),
    path("token-actions/", views.agent_home, name="agent-home"),
    path("token-actions/<int:pk>/", views.agent_actions, name="agent-actions"),
    path("token-actions/<int:pk>/status/", views.agent_actions_status, name="agent-actions-status"),
    path("invest/", views.invest_offerings, name="invest-offerings"),
    path("invest/<int:pk>/", views.invest_buy, name="invest-buy"),
    path("investments/", views.my_investments, name="my-investments"),
    path("investments/orders/<uuid:order_id>/", views.order_detail, name="order-detail"),
    path("investments/orders/<uuid:order_id>/status/", views.order_status, name="order-status"),
    path("investments/orders/<uuid:order_id>/cancel/", views.order_cancel, name="order-cancel"),
    path("investments/orders/<uuid:order_id>/receipt.pdf", views.order_receipt, name="order-receipt"),
    path("orders/", views.order_admin, name="order-admin"),
]

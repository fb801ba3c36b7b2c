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
]

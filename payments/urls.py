"""The payments app's web routes: the Stripe webhook and the local payment simulator."""

from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("payments/webhooks/stripe/", views.stripe_webhook, name="stripe-webhook"),
    path("payments/simulator/<str:session_id>/", views.simulator, name="simulator"),
    path("payments/simulator/<str:session_id>/submit/", views.simulator_action, name="simulator-action"),
]

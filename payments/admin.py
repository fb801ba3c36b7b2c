"""Django admin for payments, webhook events and refunds."""

from django.contrib import admin

from payments.models import Payment, Refund, WebhookEvent


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("session_id", "client_reference_id", "amount", "currency", "status", "created_at")
    list_filter = ("status", "simulated")
    search_fields = ("session_id", "client_reference_id")


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "received_at")
    search_fields = ("event_id",)


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ("payment", "amount", "currency", "status", "provider_refund_id", "created_at")
    list_filter = ("status",)
    search_fields = ("provider_refund_id", "payment__session_id", "payment__client_reference_id")

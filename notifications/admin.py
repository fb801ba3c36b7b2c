"""Django admin for notifications and their email deliveries, every field read-only."""

from django.contrib import admin

from notifications.models import EmailDelivery, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title", "recipient", "category", "created_at", "read_at")
    list_filter = ("category",)
    search_fields = ("title", "event_key", "recipient__email")
    readonly_fields = [f.name for f in Notification._meta.fields]


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    list_display = ("notification", "to_email", "status", "attempts", "sent_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in EmailDelivery._meta.fields]

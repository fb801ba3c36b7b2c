"""Django admin for tariffs, events, plausibility flags and revenue periods, read-only."""

from django.contrib import admin

from telemetry.models import PlausibilityFlag, RevenuePeriod, Tariff, TelemetryEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changes go through telemetry.services (audited); the admin only looks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Tariff)
class TariffAdmin(ReadOnlyAdmin):
    list_display = ("cpt_code", "payer", "year", "technical_fee", "currency")
    list_filter = ("payer", "year", "currency")
    search_fields = ("cpt_code",)


@admin.register(TelemetryEvent)
class TelemetryEventAdmin(ReadOnlyAdmin):
    list_display = ("device", "seq", "kind", "idempotency_key", "occurred_at", "status", "cpt_code")
    list_filter = ("kind", "status")
    search_fields = ("idempotency_key",)
    show_full_result_count = False


@admin.register(PlausibilityFlag)
class PlausibilityFlagAdmin(ReadOnlyAdmin):
    list_display = ("device", "code", "event", "created_at", "cleared_at")
    list_filter = ("code",)


@admin.register(RevenuePeriod)
class RevenuePeriodAdmin(ReadOnlyAdmin):
    list_display = ("device", "period_start", "status", "procedures", "amount", "currency")
    list_filter = ("status",)

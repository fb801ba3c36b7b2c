from django.apps import AppConfig


def _clinic_panel(request):
    from django.db.models import Count

    from assets.models import Device, DeviceStatus
    from core.permissions import user_clinic_ids

    labels = dict(DeviceStatus.choices)
    rows = (Device.objects.filter(organization_id__in=user_clinic_ids(request.user))
            .values("status").annotate(n=Count("id")).order_by("status"))
    return {"counts": [(labels[r["status"]], r["n"]) for r in rows]}


def _queue_panel(status):
    def ctx(request):
        from assets.models import Device

        return {"waiting": Device.objects.filter(status=status).count()}

    return ctx


class AssetsConfig(AppConfig):
    name = "assets"

    def ready(self):
        from django.utils.translation import gettext_lazy

        from assets import demo
        from chain import hooks
        from core.permissions import CLINIC_ROLES, Role
        from core.registry import register_nav, register_panel, register_seeder

        register_nav(gettext_lazy("Devices"), "assets:device-list", order=10, roles=[
            *CLINIC_ROLES, Role.APPRAISER, Role.INSPECTOR, Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN])
        register_nav(gettext_lazy("Appraisal queue"), "assets:appraisal-queue", roles=[Role.APPRAISER,
            Role.PLATFORM_ADMIN],
                     order=20)
        register_nav(gettext_lazy("Inspection queue"), "assets:inspection-queue",
                     roles=[Role.INSPECTOR, Role.PLATFORM_ADMIN], order=21)
        register_panel("assets/panels/clinic.html", roles=CLINIC_ROLES, context=_clinic_panel, order=10)
        register_panel("assets/panels/appraiser.html", roles=[Role.APPRAISER],
                       context=_queue_panel("submitted"), order=10)
        register_panel("assets/panels/inspector.html", roles=[Role.INSPECTOR],
                       context=_queue_panel("appraised"), order=10)
        register_seeder(demo.seed, order=20)
        hooks.register("assets.anchor", "assets.chain_hooks.on_anchor_final")

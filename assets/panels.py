"""The device panels on the dashboard: a clinic's devices by status, and the appraisal and
inspection queues (registered in AssetsConfig.ready)."""

from django.db.models import Count

from assets.models import Device, DeviceStatus
from core.permissions import user_clinic_ids


def clinic_panel(request):
    labels = dict(DeviceStatus.choices)
    rows = (Device.objects.filter(organization_id__in=user_clinic_ids(request.user))
            .values("status").annotate(n=Count("id")).order_by("status"))
    return {"counts": [(labels[r["status"]], r["n"]) for r in rows]}


def queue_panel(status):
    def ctx(request):
        return {"waiting": Device.objects.filter(status=status).count()}

    return ctx

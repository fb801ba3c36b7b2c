"""The audit trail API (compliance officers and platform admins)."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from core.models import AuditEvent
from core.permissions import HasRole, Role


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "actor_label", "action", "object_type", "object_id",
            "object_repr", "before", "after", "reason", "request_id",
        ]


@extend_schema(tags=["audit"], summary="The audit trail (compliance officers and platform admins)")
class AuditEventListApi(generics.ListAPIView):
    serializer_class = AuditEventSerializer
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN)]

    def get_queryset(self):
        qs = AuditEvent.objects.all()
        p = self.request.query_params
        for key in ("action", "object_type", "object_id"):
            if p.get(key):
                qs = qs.filter(**{key: p[key]})
        return qs

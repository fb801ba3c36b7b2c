from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import HasRole, Role
from tokens import selectors, services
from tokens.models import AgentActionKind


class _AgentActionOut(serializers.Serializer):
    id = serializers.IntegerField()
    offering_id = serializers.IntegerField()
    kind = serializers.CharField()
    wallet = serializers.CharField()
    to_wallet = serializers.CharField()
    amount = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    status = serializers.CharField(source="chain_tx.status")
    tx_hash = serializers.CharField(source="chain_tx.tx_hash")
    error = serializers.CharField(source="chain_tx.error")
    created_at = serializers.DateTimeField()


class AgentActionCreateApi(APIView):
    """A compliance officer's token action (pause, freeze, forced transfer, recovery…),
    executed through the chain outbox; poll the action for its status."""

    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    class AgentActionCreateInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=AgentActionKind.choices)
        reason = serializers.CharField()
        wallet = serializers.CharField(required=False, allow_blank=True, default="")
        to_wallet = serializers.CharField(required=False, allow_blank=True, default="")
        amount = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)

    class AgentActionCreateOutputSerializer(_AgentActionOut):
        pass

    @extend_schema(tags=["tokens"], summary="Request a token agent action",
                   request=AgentActionCreateInputSerializer, responses={201: AgentActionCreateOutputSerializer})
    def post(self, request, offering_id):
        offering = selectors.offering_get_for_user(user=request.user, offering_id=offering_id)
        s = self.AgentActionCreateInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        action = services.agent_action_request(actor=request.user, offering=offering, **s.validated_data)
        return Response(self.AgentActionCreateOutputSerializer(action).data, status=status.HTTP_201_CREATED)


class AgentActionDetailApi(APIView):
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    class AgentActionDetailOutputSerializer(_AgentActionOut):
        pass

    @extend_schema(tags=["tokens"], summary="A token agent action and its chain status",
                   responses=AgentActionDetailOutputSerializer)
    def get(self, request, action_id):
        action = selectors.agent_action_get(action_id=action_id)
        if action is None:
            raise Http404
        return Response(self.AgentActionDetailOutputSerializer(action).data)

"""API twin of the compliance-parameters page (tokens.offerings.compliance_params_views): read a live
token's stored terms beside the contract's own values and the history of changes; request a
change (compliance officer, reason required; 202: the outbox sends it, the stored terms
follow on confirmation)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import HasRole, Role
from tokens.models import ComplianceChange
from tokens.offerings import compliance_params as cp
from tokens.offerings import selectors

TAG = ["token actions"]
OFFICER = HasRole.of(Role.COMPLIANCE_OFFICER)


class TermsSerializer(serializers.Serializer):
    supply_cap = serializers.IntegerField()
    max_per_investor = serializers.IntegerField(help_text="Max units per wallet (the contract's maxBalance).")
    holder_cap = serializers.IntegerField(help_text="Max wallets holding units (the contract counts wallets).")
    lockup_until = serializers.DateField(allow_null=True)
    allowed_countries = serializers.ListField(child=serializers.IntegerField(), required=False)


class ChainTermsSerializer(TermsSerializer):
    country_restricted = serializers.BooleanField()
    holders = serializers.IntegerField(help_text="holderCount(): wallets holding units now.")
    total_supply = serializers.IntegerField()


class ChangeSerializer(serializers.ModelSerializer):
    actor = serializers.EmailField(source="actor.email")
    tx_hash = serializers.CharField(source="chain_tx.tx_hash", default="")

    class Meta:
        model = ComplianceChange
        fields = ["id", "status", "actor", "reason", "supply_cap", "max_per_investor", "holder_cap", "lockup_until",
                  "allowed_countries", "before", "error", "tx_hash", "created_at"]


class ComplianceStateSerializer(serializers.Serializer):
    offering_id = serializers.IntegerField()
    stored = TermsSerializer(help_text="The offering's terms (follow the chain once a change is confirmed).")
    chain = ChainTermsSerializer(allow_null=True, help_text="Read live; null when the node is unreachable.")
    changes = ChangeSerializer(many=True)


class ChangeInputSerializer(serializers.Serializer):
    supply_cap = serializers.IntegerField(min_value=1)
    max_per_investor = serializers.IntegerField(min_value=1)
    holder_cap = serializers.IntegerField(min_value=1)
    lockup_until = serializers.DateField(required=False, allow_null=True, default=None)
    allowed_countries = serializers.ListField(child=serializers.IntegerField(), required=False, default=list,
                                              help_text="ISO 3166-1 numeric; empty: every country.")
    reason = serializers.CharField(help_text="Required; kept in the audit log.")


class ComplianceParamsApi(APIView):
    permission_classes = [OFFICER]

    @extend_schema(tags=TAG, summary="A token's compliance parameters: offering terms, the contract's live values, "
                   "changes", responses=ComplianceStateSerializer, operation_id="v1_tokens_compliance_params_get")
    def get(self, request, offering_id):
        offering = selectors.offering_get_for_user(user=request.user, offering_id=offering_id)
        return Response(ComplianceStateSerializer({"offering_id": offering.pk, "stored": cp.stored_terms(offering),
                                                   "chain": cp.chain_terms(offering),
                                                   "changes": cp.changes_for(offering)}).data)

    @extend_schema(tags=TAG, summary="Change a live token's compliance parameters and allowed countries (through "
                   "the outbox; reason required)", request=ChangeInputSerializer, responses={202: ChangeSerializer},
                   operation_id="v1_tokens_compliance_params_change")
    def post(self, request, offering_id):
        offering = selectors.offering_get_for_user(user=request.user, offering_id=offering_id)
        s = ChangeInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        change = cp.compliance_change_request(actor=request.user, offering=offering, **s.validated_data)
        return Response(ChangeSerializer(change).data, status=status.HTTP_202_ACCEPTED)

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance import onchain, selectors, services
from compliance.models import KycCase
from core.permissions import HasRole, Role


class _WalletOutputSerializer(serializers.Serializer):
    address = serializers.CharField()
    kind = serializers.CharField()
    # True from the moment a registration is queued; `chain_status` says whether it is effective.
    registered_on_chain = serializers.BooleanField()
    chain_status = serializers.SerializerMethodField(
        help_text="Outbox status of the wallet's latest registry transaction (pending, submitted, mined, "
                  "confirmed, failed), or null.")
    chain_state = serializers.SerializerMethodField(help_text="The same, in words.")

    def _latest(self, obj):
        rows = onchain.wallet_outbox_rows(obj)
        return rows[0] if rows else None

    def get_chain_status(self, obj) -> str | None:
        row = self._latest(obj)
        return row.status if row else None

    def get_chain_state(self, obj) -> str:
        return onchain.outbox_state_label(self._latest(obj))


class KycStatusApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR)]

    class KycStatusOutputSerializer(serializers.Serializer):
        status = serializers.CharField(allow_null=True)
        eligible = serializers.BooleanField()
        expires_at = serializers.DateTimeField(allow_null=True)
        message = serializers.CharField(allow_blank=True)
        identity_address = serializers.CharField(allow_blank=True)
        wallets = _WalletOutputSerializer(many=True)

    @extend_schema(tags=["compliance"], summary="My KYC status, eligibility and wallets",
                   responses=KycStatusOutputSerializer)
    def get(self, request):
        case = selectors.current_case(user=request.user)
        profile = selectors.investor_profile(user=request.user)
        return Response(self.KycStatusOutputSerializer({
            "status": case.status if case else None,
            "eligible": selectors.investor_is_eligible(user=request.user),
            "expires_at": case.expires_at if case else None,
            "message": case.investor_message if case else "",
            "identity_address": profile.identity_address if profile else "",
            "wallets": selectors.investor_wallets(user=request.user),
        }).data)


class WalletChallengeApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR)]

    class WalletChallengeInputSerializer(serializers.Serializer):
        address = serializers.CharField(max_length=42)

    class WalletChallengeOutputSerializer(serializers.Serializer):
        message = serializers.CharField()
        nonce = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(tags=["compliance"], summary="Get an EIP-4361 message to sign for a self-custody wallet",
                   request=WalletChallengeInputSerializer, responses={201: WalletChallengeOutputSerializer})
    def post(self, request):
        s = self.WalletChallengeInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        ch = services.wallet_challenge_create(actor=request.user, address=s.validated_data["address"],
                                              domain=request.get_host(), uri=request.build_absolute_uri("/"))
        return Response(self.WalletChallengeOutputSerializer(ch).data, status=status.HTTP_201_CREATED)


class WalletLinkApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR)]

    class WalletLinkInputSerializer(serializers.Serializer):
        message = serializers.CharField()
        signature = serializers.CharField(max_length=200)

    @extend_schema(tags=["compliance"], summary="Link a self-custody wallet with its EIP-4361 signature",
                   request=WalletLinkInputSerializer, responses={201: _WalletOutputSerializer})
    def post(self, request):
        s = self.WalletLinkInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        wallet = services.wallet_link(actor=request.user, domain=request.get_host(), **s.validated_data)
        return Response(_WalletOutputSerializer(wallet).data, status=status.HTTP_201_CREATED)


class _CaseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    risk_score = serializers.IntegerField()
    risk_level = serializers.CharField()
    country = serializers.CharField(source="profile.residence_country")
    open_hits = serializers.SerializerMethodField()

    def get_open_hits(self, obj) -> int:
        return obj.open_hits.count()


class ReviewQueueApi(APIView):
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    class ReviewQueueFilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=KycCase.Status.choices, required=False)
        country = serializers.CharField(max_length=2, required=False)
        risk = serializers.ChoiceField(choices=KycCase.Risk.choices, required=False)
        hits = serializers.ChoiceField(choices=["open", "none"], required=False)

    @extend_schema(tags=["compliance"], summary="KYC review queue, oldest first",
                   parameters=[ReviewQueueFilterSerializer], responses=_CaseOutputSerializer(many=True))
    def get(self, request):
        f = self.ReviewQueueFilterSerializer(data=request.query_params)
        f.is_valid(raise_exception=True)
        cases = selectors.review_queue(**f.validated_data)[:200]
        return Response(_CaseOutputSerializer(cases, many=True).data)


class _DecisionApi(APIView):
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]
    service = None

    def post(self, request, pk: int):
        s = CaseDecisionInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        case = selectors.case_get_for_user(user=request.user, case_id=pk)
        case = type(self).service(actor=request.user, case=case, reason=s.validated_data.get("reason", ""))
        return Response(_CaseOutputSerializer(case).data)


class CaseDecisionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True)


_decision_schema = {"tags": ["compliance"], "request": CaseDecisionInputSerializer,
                    "responses": _CaseOutputSerializer}


class CaseApproveApi(_DecisionApi):
    service = staticmethod(services.kyc_case_approve)

    @extend_schema(summary="Approve a case (a high-risk case needs two different officers)", **_decision_schema)
    def post(self, request, pk: int):
        return super().post(request, pk)


class CaseRejectApi(_DecisionApi):
    service = staticmethod(services.kyc_case_reject)

    @extend_schema(summary="Reject a case (final; reason required)", **_decision_schema)
    def post(self, request, pk: int):
        return super().post(request, pk)


class CaseRequestInfoApi(_DecisionApi):
    service = staticmethod(services.kyc_case_request_info)

    @extend_schema(summary="Ask the investor for more information (reason required)", **_decision_schema)
    def post(self, request, pk: int):
        return super().post(request, pk)

"""The compliance API: investor KYC status, profile, documents, wallets and erasure; the
officers' queue, cases, decisions and sanctions hits."""

from django.http import Http404, HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance import onchain, selectors, services
from compliance.models import InvestorProfile, KycCase, KycDocument, ScreeningHit
from core.errors import ApplicationError
from core.permissions import HasRole, Role


class _WalletOutputSerializer(serializers.Serializer):
    address = serializers.CharField()
    kind = serializers.CharField()
    # True once a registration is confirmed on chain; `chain_status` tells a queued one apart.
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


# ------------------------------------------------------------------ investor: profile, documents, submission

class _ProfileSerializer(serializers.Serializer):
    legal_name = serializers.CharField(max_length=200)
    date_of_birth = serializers.DateField()
    residence_country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    address = serializers.CharField()
    investor_type = serializers.ChoiceField(choices=InvestorProfile.InvestorType.choices)
    accreditation_basis = serializers.ChoiceField(choices=InvestorProfile.Accreditation.choices)
    accreditation_detail = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    tax_residence = serializers.CharField(max_length=2)
    is_pep = serializers.BooleanField(required=False, default=False)
    intended_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    intended_currency = serializers.CharField(max_length=3, required=False, default="USD")


class InvestorProfileApi(APIView):
    """The investor's KYC profile. Read-only while a case is submitted or in review; a
    change after approval opens a new case and suspends eligibility until it is approved."""

    permission_classes = [HasRole.of(Role.INVESTOR)]

    @extend_schema(tags=["compliance"], summary="My investor profile", responses=_ProfileSerializer)
    def get(self, request):
        profile = selectors.investor_profile(user=request.user)
        if profile is None:
            raise ApplicationError("profile_missing", gettext("You have no investor profile yet."), status=404)
        return Response(_ProfileSerializer(profile).data)

    @extend_schema(tags=["compliance"], summary="Create or change my investor profile",
                   request=_ProfileSerializer, responses=_ProfileSerializer)
    def put(self, request):
        s = _ProfileSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        profile = services.investor_profile_save(actor=request.user, user=request.user, **s.validated_data)
        return Response(_ProfileSerializer(profile).data)


class _DocumentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()


class _MyCaseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    purpose = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField(source="investor_message", allow_blank=True)
    documents = _DocumentOutputSerializer(many=True, source="documents.all")


class MyCaseApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR)]

    @extend_schema(tags=["compliance"], summary="My current KYC case and its documents",
                   responses=_MyCaseOutputSerializer)
    def get(self, request):
        case = selectors.current_case(user=request.user)
        if case is None:
            raise ApplicationError("case_missing", gettext("You have no KYC case yet."), status=404)
        return Response(_MyCaseOutputSerializer(case).data)


class DocumentUploadApi(APIView):
    """Upload a KYC document to the open case (one is opened when needed: a renewal may
    start 30 days before the approval expires)."""

    permission_classes = [HasRole.of(Role.INVESTOR)]
    parser_classes = [MultiPartParser]

    class DocumentUploadInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=KycDocument.Kind.choices)
        file = serializers.FileField()

    @extend_schema(tags=["compliance"], summary="Upload a KYC document (PDF, PNG or JPEG)",
                   request={"multipart/form-data": DocumentUploadInputSerializer},
                   responses={201: _DocumentOutputSerializer})
    def post(self, request):
        s = self.DocumentUploadInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        case = services.kyc_case_open(actor=request.user)
        doc = services.kyc_document_upload(actor=request.user, case=case, kind=s.validated_data["kind"],
                                           uploaded_file=s.validated_data["file"])
        return Response(_DocumentOutputSerializer(doc).data, status=status.HTTP_201_CREATED)


class CaseSubmitApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR)]

    @extend_schema(tags=["compliance"], summary="Submit my KYC case for review", request=None,
                   responses=_MyCaseOutputSerializer)
    def post(self, request):
        case = selectors.current_case(user=request.user)
        if case is None:
            raise ApplicationError("documents_missing", gettext("Upload your documents first."), status=409)
        return Response(_MyCaseOutputSerializer(services.kyc_case_submit(actor=request.user, case=case)).data)


class ErasureApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR)]

    class ErasureInputSerializer(serializers.Serializer):
        confirm = serializers.BooleanField()

    class ErasureOutputSerializer(serializers.Serializer):
        processing_restricted = serializers.BooleanField()
        purge_after = serializers.DateTimeField()

    @extend_schema(tags=["compliance"], summary="Request erasure of my data (restricted now, purged after the "
                   "AML retention period)", request=ErasureInputSerializer, responses=ErasureOutputSerializer)
    def post(self, request):
        s = self.ErasureInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        if not s.validated_data["confirm"]:
            raise ApplicationError("confirmation_required", gettext("Confirm the erasure request."),
                                   details={"confirm": [gettext("Must be true.")]})
        profile = services.erasure_request(actor=request.user, user=request.user)
        return Response(self.ErasureOutputSerializer(profile).data)


class DocumentDownloadApi(APIView):
    """The decrypted document (its owner or an officer; every read is audited)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["compliance"], summary="Download a KYC document",
                   # The types an upload may have (services.ALLOWED_TYPES), served as stored.
                   responses={(200, ctype): OpenApiTypes.BINARY for ctype in services.ALLOWED_TYPES.values()})
    def get(self, request, pk: int):
        doc = selectors.document_get_for_user(user=request.user, document_id=pk)
        data = services.kyc_document_read(actor=request.user, document=doc)
        resp = HttpResponse(data, content_type=doc.content_type)
        resp["Cache-Control"] = "private, no-store"
        return resp


# ------------------------------------------------------------------ officers: case detail and actions

class _HitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entry_uid = serializers.CharField()
    entry_name = serializers.CharField()
    score = serializers.IntegerField()
    status = serializers.CharField()
    cleared_by = serializers.EmailField(source="cleared_by.email", allow_null=True, default=None)


class _CaseDetailOutputSerializer(_CaseOutputSerializer):
    purpose = serializers.CharField()
    was_high_risk = serializers.BooleanField()
    first_approver = serializers.EmailField(source="first_approver.email", allow_null=True, default=None)
    expires_at = serializers.DateTimeField(allow_null=True)
    hits = _HitOutputSerializer(many=True, source="hits.all")
    documents = _DocumentOutputSerializer(many=True, source="documents.all")
    registry_failures = serializers.SerializerMethodField()

    def get_registry_failures(self, obj) -> list[str]:
        return [f"{r.function}: {r.error[:200]}" for r in selectors.registry_failures(profile=obj.profile)]


class CaseDetailApi(APIView):
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    @extend_schema(tags=["compliance"], summary="A KYC case with its hits, documents and registry failures",
                   responses=_CaseDetailOutputSerializer)
    def get(self, request, pk: int):
        return Response(_CaseDetailOutputSerializer(selectors.case_get_for_user(user=request.user, case_id=pk)).data)


class CaseStartReviewApi(_DecisionApi):
    service = staticmethod(lambda actor, case, reason: services.kyc_case_start_review(actor=actor, case=case))

    @extend_schema(summary="Start reviewing a submitted case", **_decision_schema)
    def post(self, request, pk: int):
        return super().post(request, pk)


class CaseRevokeApi(_DecisionApi):
    service = staticmethod(services.kyc_case_revoke)

    @extend_schema(summary="Revoke an approval (reason required); the wallets leave the registry",
                   **_decision_schema)
    def post(self, request, pk: int):
        return super().post(request, pk)


class CaseResyncApi(_DecisionApi):
    service = staticmethod(lambda actor, case, reason: (
        services.investor_registry_resync(actor=actor, profile=case.profile), case)[1])

    @extend_schema(summary="Retry failed registry writes: bring the chain to the investor's KYC state",
                   **_decision_schema)
    def post(self, request, pk: int):
        return super().post(request, pk)


class HitClearApi(APIView):
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    @extend_schema(tags=["compliance"], summary="Clear a sanctions hit as a false positive (reason required; "
                   "another officer approves the case)", request=CaseDecisionInputSerializer,
                   responses=_HitOutputSerializer)
    def post(self, request, pk: int):
        s = CaseDecisionInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        hit = ScreeningHit.objects.filter(pk=pk).first()
        if hit is None:
            raise Http404
        hit = services.screening_hit_clear(actor=request.user, hit=hit, reason=s.validated_data.get("reason", ""))
        return Response(_HitOutputSerializer(hit).data)


class CaseExportApi(APIView):
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    @extend_schema(tags=["compliance"], summary="Export the case file (PDF)",
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, pk: int):
        case = selectors.case_get_for_user(user=request.user, case_id=pk)
        resp = HttpResponse(services.kyc_case_export_pdf(actor=request.user, case=case),
                            content_type="application/pdf")
        resp["Content-Disposition"] = f'attachment; filename="kyc-case-{case.pk}.pdf"'
        return resp

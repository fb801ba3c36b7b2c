"""The telemetry API: device-signed batch upload (HMAC auth), credentials, usage, flags, tariffs,
revenue periods, payer mix."""

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import PAGE_PARAMS, Pagination, paginated
from core.errors import ApplicationError
from core.money import CURRENCIES
from core.permissions import HasRole, Role, user_has_role
from telemetry import ingest, selectors, services
from telemetry.models import DeviceCredential
from telemetry.schema import BATCH_SCHEMA, RESULT_SCHEMA, to_openapi30

_OPENAPI_BATCH = to_openapi30(BATCH_SCHEMA)
_ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}}}}}


class DeviceSignatureAuthentication(BaseAuthentication):
    """HMAC-SHA256 over `timestamp.raw_body` (docs/telemetry-protocol.md). No session, so no
    CSRF: a device is not a browser."""

    def authenticate(self, request):
        meta = request._request.META
        limit = ingest.max_body_bytes()
        too_large = ApplicationError("batch_too_large", gettext('The request body is over %(limit)s bytes.') %
            {"limit": limit},
                                     details={"max_bytes": limit}, status=413)
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise too_large  # before reading or parsing the body
        try:
            body = request._request.body
        except RequestDataTooBig:
            raise too_large from None
        if len(body) > limit:
            raise too_large
        cred = ingest.authenticate(key_id=meta.get(ingest.HEADER_KEY_ID, ""),
                                   timestamp=meta.get(ingest.HEADER_TIMESTAMP, ""),
                                   signature=meta.get(ingest.HEADER_SIGNATURE, ""), body=body)
        ingest.check_rate(cred)
        return AnonymousUser(), cred

    def authenticate_header(self, request):
        return 'MedRWA-HMAC realm="telemetry"'


class DeviceSignatureScheme(OpenApiAuthenticationExtension):
    target_class = DeviceSignatureAuthentication
    name = "DeviceSignature"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-MedRWA-Signature",
                "description": "v1=hex(HMAC-SHA256(secret, timestamp + '.' + raw_body)) with X-MedRWA-Key-Id "
                               "and X-MedRWA-Timestamp (Unix seconds, ±300 s)."}


class IsDevice(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, DeviceCredential)


class TelemetryBatchApi(APIView):
    authentication_classes = [DeviceSignatureAuthentication]
    permission_classes = [IsDevice]

    @extend_schema(
        tags=["telemetry"], summary="Upload a signed batch of device events",
        description="Up to 1,000 procedure/heartbeat events. Each is answered accepted, duplicate (its "
                    "idempotency key is already stored) or rejected (with a reason); a retried batch changes "
                    "nothing. See docs/telemetry-protocol.md.",
        request={"application/json": _OPENAPI_BATCH},
        responses={200: OpenApiResponse(RESULT_SCHEMA, description="Per-event results"),
                   400: OpenApiResponse(_ERROR, description="Malformed JSON or schema violation"),
                   401: OpenApiResponse(_ERROR, description="signature_invalid | timestamp_stale | "
                                                           "timestamp_future | unknown_key | key_revoked | "
                                                           "device_retired"),
                   413: OpenApiResponse(_ERROR, description="More than 1,000 events or a body over 2.5 MB"),
                   429: OpenApiResponse(_ERROR, description="rate_limited: too many batches a minute from "
                                                           "this key")},
    )
    def post(self, request):
        events = ingest.parse_body(request._request.body)
        result = ingest.ingest_batch(credential=request.auth, events=events)
        return Response(result.as_dict())


class CredentialIssueApi(APIView):
    class CredentialIssueInputSerializer(serializers.Serializer):
        label = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")

    class CredentialIssueOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        key_id = serializers.CharField()
        secret = serializers.CharField(help_text="Shown only in this response.")
        device = serializers.IntegerField()

    @extend_schema(tags=["telemetry"], summary="Issue a device credential (clinic admin)",
                   request=CredentialIssueInputSerializer, responses={201: CredentialIssueOutputSerializer})
    def post(self, request, device_id: int):
        device = selectors.device_get_for_user(user=request.user, device_id=device_id)
        s = self.CredentialIssueInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        issued = services.credential_issue(actor=request.user, device=device, label=s.validated_data["label"])
        return Response(self.CredentialIssueOutputSerializer(
            {"id": issued.credential.pk, "key_id": issued.credential.key_id, "secret": issued.secret,
             "device": device.pk}).data, status=201)


class CredentialRevokeApi(APIView):
    class CredentialRevokeInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class CredentialRevokeOutputSerializer(serializers.Serializer):
        key_id = serializers.CharField()
        revoked_at = serializers.DateTimeField()

    @extend_schema(tags=["telemetry"], summary="Revoke a device credential (clinic admin)",
                   request=CredentialRevokeInputSerializer, responses=CredentialRevokeOutputSerializer)
    def post(self, request, credential_id: int):
        cred = selectors.credential_get_for_user(user=request.user, credential_id=credential_id)
        s = self.CredentialRevokeInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        cred = services.credential_revoke(actor=request.user, credential=cred, reason=s.validated_data["reason"])
        return Response(self.CredentialRevokeOutputSerializer(cred).data)


class FlagListApi(APIView):
    class FlagListOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        device = serializers.IntegerField(source="device_id")
        event = serializers.IntegerField(source="event_id")
        idempotency_key = serializers.CharField(source="event.idempotency_key")
        code = serializers.CharField()
        details = serializers.JSONField()
        created_at = serializers.DateTimeField()
        cleared_at = serializers.DateTimeField(allow_null=True)
        clear_reason = serializers.CharField()

    @extend_schema(tags=["telemetry"], summary="Plausibility flags on devices you can see",
                   parameters=PAGE_PARAMS, operation_id="v1_telemetry_flags_list",
                   responses=paginated(FlagListOutputSerializer, name="PaginatedFlagListOutputList"))
    def get(self, request):
        qs = selectors.flags_for_user(user=request.user, open_only=request.query_params.get("open") == "1")
        page = self.paginator.paginate_queryset(qs, request, view=self)
        return self.paginator.get_paginated_response(self.FlagListOutputSerializer(page, many=True).data)

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            self._paginator = Pagination()
        return self._paginator


class FlagClearApi(APIView):
    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    class FlagClearInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=1000)

    class FlagClearOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        code = serializers.CharField()
        cleared_at = serializers.DateTimeField()
        clear_reason = serializers.CharField()

    @extend_schema(tags=["telemetry"], summary="Clear a plausibility flag (platform admin, reason required)",
                   request=FlagClearInputSerializer, responses=FlagClearOutputSerializer)
    def post(self, request, flag_id: int):
        flag = selectors.flag_get_for_user(user=request.user, flag_id=flag_id)
        s = self.FlagClearInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        flag = services.flag_clear(actor=request.user, flag=flag, reason=s.validated_data["reason"])
        return Response(self.FlagClearOutputSerializer(flag).data)


class DeviceUsageApi(APIView):
    class DeviceUsageOutputSerializer(serializers.Serializer):
        day = serializers.DateField()
        procedures = serializers.IntegerField()
        discontinued = serializers.IntegerField()
        gpu_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
        online_hours = serializers.IntegerField()

    @extend_schema(tags=["telemetry"], summary="Daily usage of a device (last 30 days)",
                   responses=DeviceUsageOutputSerializer(many=True))
    def get(self, request, device_id: int):
        device = selectors.device_get_for_user(user=request.user, device_id=device_id)
        rows = selectors.device_daily_procedures(device=device, days=30)
        return Response(self.DeviceUsageOutputSerializer(rows, many=True).data)


class TariffListApi(APIView):
    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    class TariffOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        cpt_code = serializers.CharField()
        payer = serializers.CharField()
        year = serializers.IntegerField()
        technical_fee = serializers.DecimalField(max_digits=12, decimal_places=2)
        currency = serializers.CharField()
        updated_at = serializers.DateTimeField()

    class TariffSetInputSerializer(serializers.Serializer):
        cpt_code = serializers.RegexField(r"^[0-9A-Za-z]{5}$", max_length=5)
        payer = serializers.CharField(max_length=60, required=False, default="default")
        year = serializers.IntegerField(min_value=2000, max_value=2100)
        technical_fee = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
        # A plain string here (ChoiceField would add a second enum name for the currency
        # set to the OpenAPI document); checked against core.money.CURRENCIES in validate_currency.
        currency = serializers.CharField(max_length=3, default="USD", help_text="ISO 4217, e.g. USD.")

        def validate_currency(self, value):
            if value not in dict(CURRENCIES):
                raise serializers.ValidationError(gettext('Not a supported currency: %(value)s.') % {"value": value})
            return value

    @extend_schema(tags=["telemetry"], summary="The fee schedule (platform admin)",
                   responses=TariffOutputSerializer(many=True))
    def get(self, request):
        return Response(self.TariffOutputSerializer(selectors.tariff_list(), many=True).data)

    @extend_schema(tags=["telemetry"], summary="Set the technical fee for a CPT code × payer × year (platform admin)",
                   description="Creates the row or replaces its fee; audited. Closed periods keep their amounts.",
                   request=TariffSetInputSerializer, responses={200: TariffOutputSerializer})
    def post(self, request):
        s = self.TariffSetInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        tariff = services.tariff_set(actor=request.user, **s.validated_data)
        return Response(self.TariffOutputSerializer(tariff).data)


class RevenuePeriodOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="period.pk", allow_null=True, default=None)
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Exclusive.")
    kind = serializers.ChoiceField(choices=["regular", "adjustment"],
                                   help_text="adjustment: only the difference found after the month was closed.")
    adjusts = serializers.IntegerField(source="adjusts_id", allow_null=True,
                                       help_text="The regular period an adjustment corrects.")
    reason = serializers.CharField(help_text="Why an adjustment was recorded.")
    status = serializers.ChoiceField(choices=["open", "closed", "settled"])
    procedures = serializers.IntegerField(help_text="Completed procedures counted (no open flag).")
    unpriced_procedures = serializers.IntegerField()
    excluded_flagged = serializers.IntegerField(help_text="Completed procedures left out for an open flag.")
    compute_jobs = serializers.IntegerField(help_text="Compute jobs counted (no open flag).")
    compute_gpu_seconds = serializers.DecimalField(max_digits=16, decimal_places=3)
    excluded_flagged_jobs = serializers.IntegerField(help_text="Compute jobs left out for an open flag.")
    procedure_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    compute_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="procedure_amount + compute_amount.")
    currency = serializers.CharField()
    lines = serializers.JSONField(help_text='Explained lines: {"kind": "procedure"|"compute", ..., "amount", '
                                            '"explanation"}; unpriced lines have amount null and a "reason".')


def _period_view(period):
    return selectors.RevenuePeriodView.of(period)


class RevenuePeriodListApi(APIView):
    @extend_schema(tags=["telemetry"], summary="Monthly revenue of a device (open months computed live)",
                   responses=RevenuePeriodOutputSerializer(many=True))
    def get(self, request, device_id: int):
        device = selectors.device_get_for_user(user=request.user, device_id=device_id)
        return Response(RevenuePeriodOutputSerializer(selectors.device_revenue_periods(device=device), many=True).data)


class RevenuePeriodCloseApi(APIView):
    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    class RevenuePeriodCloseInputSerializer(serializers.Serializer):
        period_start = serializers.DateField(help_text="Any day of the month to close.")

    @extend_schema(tags=["telemetry"], summary="Close a finished month of a device's revenue (platform admin)",
                   request=RevenuePeriodCloseInputSerializer, responses={201: RevenuePeriodOutputSerializer})
    def post(self, request, device_id: int):
        device = selectors.device_get_for_user(user=request.user, device_id=device_id)
        s = self.RevenuePeriodCloseInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        period = services.revenue_period_close(actor=request.user, device=device,
                                               period_start=s.validated_data["period_start"])
        return Response(RevenuePeriodOutputSerializer(_period_view(period)).data, status=201)


class RevenuePeriodAdjustApi(APIView):
    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    class RevenuePeriodAdjustInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=1000)

    @extend_schema(tags=["telemetry"], summary="Record an adjustment of a closed month (platform admin)",
                   description="Recomputes the month now and stores only the difference from what was closed as a "
                               "new adjustment period; 409 no_difference when nothing changed.",
                   request=RevenuePeriodAdjustInputSerializer,
                   responses={201: RevenuePeriodOutputSerializer,
                              409: OpenApiResponse(_ERROR, description="no_difference")})
    def post(self, request, period_id: int):
        period = selectors.revenue_period_get_for_user(user=request.user, period_id=period_id)
        s = self.RevenuePeriodAdjustInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        adjustment = services.revenue_period_adjust(actor=request.user, period=period,
                                                    reason=s.validated_data["reason"])
        return Response(RevenuePeriodOutputSerializer(_period_view(adjustment)).data, status=201)


class RevenuePeriodSettleApi(APIView):
    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    @extend_schema(tags=["telemetry"], summary="Settle a closed revenue period (platform admin)",
                   description="Refused (409 settled_by_distribution) for a tokenized device: its distribution "
                               "settles the period when the deposit is confirmed.",
                   request=None, responses=RevenuePeriodOutputSerializer)
    def post(self, request, period_id: int):
        period = selectors.revenue_period_get_for_user(user=request.user, period_id=period_id)
        period = services.revenue_period_settle(actor=request.user, period=period)
        return Response(RevenuePeriodOutputSerializer(_period_view(period)).data)


class ComputeTariffApi(APIView):
    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    class ComputeTariffOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        year = serializers.IntegerField()
        price_per_gpu_hour = serializers.DecimalField(max_digits=12, decimal_places=4)
        currency = serializers.CharField()
        updated_at = serializers.DateTimeField()

    class ComputeTariffSetInputSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)
        price_per_gpu_hour = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)
        currency = serializers.CharField(max_length=3, default="USD", help_text="ISO 4217, e.g. USD.")

        def validate_currency(self, value):
            if value not in dict(CURRENCIES):
                raise serializers.ValidationError(gettext('Not a supported currency: %(value)s.') % {"value": value})
            return value

    @extend_schema(tags=["telemetry"], summary="The compute tariff per GPU-hour, by year (platform admin)",
                   responses=ComputeTariffOutputSerializer(many=True))
    def get(self, request):
        return Response(self.ComputeTariffOutputSerializer(selectors.compute_tariff_list(), many=True).data)

    @extend_schema(tags=["telemetry"], summary="Set the price of a GPU-hour of compute for a year (platform admin)",
                   description="Creates the row or replaces its price; audited. Closed periods keep their amounts.",
                   request=ComputeTariffSetInputSerializer, responses={200: ComputeTariffOutputSerializer})
    def post(self, request):
        s = self.ComputeTariffSetInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        tariff = services.compute_tariff_set(actor=request.user, **s.validated_data)
        return Response(self.ComputeTariffOutputSerializer(tariff).data)


class PayerMixShareSerializer(serializers.Serializer):
    payer = serializers.CharField(max_length=60)
    share_pct = serializers.DecimalField(max_digits=5, decimal_places=2)


class PayerMixApi(APIView):
    class PayerMixInputSerializer(serializers.Serializer):
        shares = PayerMixShareSerializer(many=True, help_text="Shares in percent, summing to 100.")

    class PayerMixOutputSerializer(serializers.Serializer):
        device = serializers.IntegerField()
        shares = PayerMixShareSerializer(many=True)

    def _out(self, device):
        shares = [{"payer": p, "share_pct": sh} for p, sh in selectors.payer_mix(device=device)]
        return self.PayerMixOutputSerializer({"device": device.pk, "shares": shares}).data

    @extend_schema(tags=["telemetry"], summary="A device's payer mix (100 % default when none is set)",
                   responses=PayerMixOutputSerializer)
    def get(self, request, device_id: int):
        device = selectors.device_get_for_user(user=request.user, device_id=device_id)
        return Response(self._out(device))

    @extend_schema(tags=["telemetry"], summary="Replace a device's payer mix (platform admin)",
                   description="Applies to procedures whose event carries no payer; counts are apportioned "
                               "by largest remainder. Closed periods keep their figures.",
                   request=PayerMixInputSerializer, responses=PayerMixOutputSerializer)
    def put(self, request, device_id: int):
        device = selectors.device_get_for_user(user=request.user, device_id=device_id)
        # The clinic may read its mix but not set it: refused before the body is judged.
        if not user_has_role(request.user, Role.PLATFORM_ADMIN):
            raise ApplicationError("permission_denied", gettext("Only a platform admin sets a device's payer mix."),
                                   status=403)
        s = self.PayerMixInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.payer_mix_set(actor=request.user, device=device,
                               shares=[(r["payer"], r["share_pct"]) for r in s.validated_data["shares"]])
        return Response(self._out(device))

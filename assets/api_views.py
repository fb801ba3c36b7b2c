"""The device API: one view per action, each documented; errors use the shared shape."""

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from assets import pdfs, selectors, services, valuation
from assets.models import Device, DocumentKind, Modality
from assets.throttle import verify_rate_per_minute, verify_throttled
from assets.udi import UdiError, parse_udi, serial_mismatch_warning
from core.api import PAGE_PARAMS, Pagination, paginated
from core.errors import ApplicationError
from core.permissions import HasRole, Role

TAG = ["devices"]


class DeviceOutputSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = Device
        fields = ["id", "organization", "organization_name", "status", "status_reason", "submitted_at",
                  "created_at", "udi_issuer", "udi_di", "udi_serial", "udi_lot", "udi_production_date",
                  "udi_expiry_date", "udi_warnings", *services.EDITABLE_FIELDS, "public_ref",
                  *services.ANCHOR_FIELDS]
        read_only_fields = fields


class DeviceWriteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = services.EDITABLE_FIELDS
        extra_kwargs = {"udi_raw": {"help_text": "Raw scanner data (GS as \\x1d), bracketed GS1 text "
                                                 "(01)…(21)…, a GS1 Digital Link URL, or a HIBCC code."}}


class DeviceCreateInputSerializer(DeviceWriteSerializer):
    organization = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="Id of the owning clinic. Required when you work for more than one clinic.")

    class Meta(DeviceWriteSerializer.Meta):
        fields = ["organization", *services.EDITABLE_FIELDS]


class DeviceListItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    modality = serializers.CharField()
    manufacturer = serializers.CharField()
    model_name = serializers.CharField()
    serial_number = serializers.CharField()
    udi_di = serializers.CharField()
    organization_name = serializers.CharField(source="organization.name")
    photo_count = serializers.IntegerField()
    appraised_value = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    appraised_currency = serializers.CharField(allow_null=True)


def _device(request, pk) -> Device:
    return selectors.device_get_for_user(user=request.user, device_id=pk)


def _out(device: Device, code=status.HTTP_200_OK) -> Response:
    device.refresh_from_db()
    return Response(DeviceOutputSerializer(device).data, status=code)


class DeviceListCreateApi(APIView):
    # An explicit id: a paged response is no longer "many", so spectacular would call it *_retrieve.
    @extend_schema(tags=TAG, summary="Devices visible to me", operation_id="v1_devices_list",
                   responses=paginated(DeviceListItemSerializer, name="PaginatedDeviceListItemList"),
                   parameters=[OpenApiParameter("status", str), OpenApiParameter("modality", str),
                               OpenApiParameter("q", str), *PAGE_PARAMS])
    def get(self, request):
        qs = selectors.device_list_for_user(user=request.user, status=request.query_params.get("status", ""),
                                            modality=request.query_params.get("modality", ""),
                                            q=request.query_params.get("q", ""))
        pager = Pagination()
        page = pager.paginate_queryset(qs, request, view=self)
        return pager.get_paginated_response(DeviceListItemSerializer(page, many=True).data)

    @extend_schema(tags=TAG, summary="Register a device (clinic admin/staff)",
                   request=DeviceCreateInputSerializer, responses={201: DeviceOutputSerializer})
    def post(self, request):
        # Who may register for which clinic is settled before the device data is looked at.
        org_id = request.data.get("organization") if hasattr(request.data, "get") else None
        clinic = selectors.registration_clinic_for_user(user=request.user, organization_id=org_id)
        s = DeviceCreateInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        data.pop("organization", None)
        device = services.device_create(actor=request.user, organization=clinic, data=data)
        return _out(device, status.HTTP_201_CREATED)


class DeviceDetailApi(APIView):
    @extend_schema(tags=TAG, summary="One device", responses=DeviceOutputSerializer)
    def get(self, request, pk):
        return Response(DeviceOutputSerializer(_device(request, pk)).data)

    @extend_schema(tags=TAG, summary="Edit a draft device (read-only once submitted)",
                   request=DeviceWriteSerializer, responses=DeviceOutputSerializer)
    def patch(self, request, pk):
        device = _device(request, pk)
        s = DeviceWriteSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        services.device_update(actor=request.user, device=device, data=s.validated_data)
        return _out(device)


class DeviceSubmitApi(APIView):
    @extend_schema(tags=TAG, summary="Submit a device for appraisal", request=None,
                   responses=DeviceOutputSerializer)
    def post(self, request, pk):
        return _out(services.device_submit(actor=request.user, device=_device(request, pk)))


class DeviceRequestChangesApi(APIView):
    permission_classes = [HasRole.of(Role.APPRAISER, Role.INSPECTOR, Role.PLATFORM_ADMIN)]

    class DeviceRequestChangesInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(tags=TAG, summary="Send a device back to the clinic for changes",
                   request=DeviceRequestChangesInputSerializer, responses=DeviceOutputSerializer)
    def post(self, request, pk):
        device = _device(request, pk)
        s = self.DeviceRequestChangesInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return _out(services.device_request_changes(actor=request.user, device=device,
                                                    reason=s.validated_data["reason"]))


class DeviceRetireApi(APIView):
    class DeviceRetireInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(tags=TAG, summary="Retire a device", request=DeviceRetireInputSerializer,
                   responses=DeviceOutputSerializer)
    def post(self, request, pk):
        device = _device(request, pk)
        s = self.DeviceRetireInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return _out(services.device_retire(actor=request.user, device=device,
                                           reason=s.validated_data["reason"]))


class DevicePhotoCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class DevicePhotoInputSerializer(serializers.Serializer):
        image = serializers.FileField()

    class DevicePhotoOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        sha256 = serializers.CharField()

    @extend_schema(tags=TAG, summary="Add a photo (JPEG/PNG/WebP; re-encoded, EXIF/GPS removed)",
                   request={"multipart/form-data": DevicePhotoInputSerializer},
                   responses={201: DevicePhotoOutputSerializer})
    def post(self, request, pk):
        device = _device(request, pk)
        s = self.DevicePhotoInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        photo = services.device_photo_add(actor=request.user, device=device,
                                          upload=s.validated_data["image"])
        return Response(self.DevicePhotoOutputSerializer(photo).data, status=status.HTTP_201_CREATED)


class DeviceDocumentCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class DeviceDocumentInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=DocumentKind.choices)
        file = serializers.FileField()

    class DeviceDocumentOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        size = serializers.IntegerField()
        sha256 = serializers.CharField()

    @extend_schema(tags=TAG, summary="Add a PDF document (checked by content, not name)",
                   request={"multipart/form-data": DeviceDocumentInputSerializer},
                   responses={201: DeviceDocumentOutputSerializer})
    def post(self, request, pk):
        device = _device(request, pk)
        s = self.DeviceDocumentInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        doc = services.device_document_add(actor=request.user, device=device,
                                           upload=s.validated_data["file"], kind=s.validated_data["kind"])
        return Response(self.DeviceDocumentOutputSerializer(doc).data, status=status.HTTP_201_CREATED)


class UdiCheckApi(APIView):
    class UdiCheckInputSerializer(serializers.Serializer):
        udi = serializers.CharField(max_length=300)
        serial_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    class UdiCheckOutputSerializer(serializers.Serializer):
        issuer = serializers.CharField()
        di = serializers.CharField()
        serial = serializers.CharField()
        lot = serializers.CharField()
        production_date = serializers.DateField(allow_null=True)
        expiry_date = serializers.DateField(allow_null=True)
        warnings = serializers.ListField(child=serializers.CharField())

    @extend_schema(tags=TAG, summary="Parse and check a UDI without saving anything",
                   request=UdiCheckInputSerializer, responses=UdiCheckOutputSerializer)
    def post(self, request):
        s = self.UdiCheckInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            udi = parse_udi(s.validated_data["udi"])
        except UdiError as exc:
            raise ApplicationError("invalid_udi", str(exc), details={"udi": [str(exc)]}) from exc
        w = serial_mismatch_warning(typed_serial=s.validated_data["serial_number"], udi_serial=udi.serial)
        udi.warnings = [w] if w else []
        return Response(self.UdiCheckOutputSerializer(udi).data)


class AppraisalOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    device = serializers.IntegerField(source="device_id")
    status = serializers.CharField()
    appraiser_name = serializers.SerializerMethodField()
    effective_date = serializers.DateField()
    currency = serializers.CharField()
    client = serializers.CharField()
    intended_users = serializers.CharField()
    intended_use = serializers.CharField()
    value_definition = serializers.CharField()
    cost_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    market_value = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    income_value = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    reconciled_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    weights = serializers.DictField(child=serializers.CharField())
    inputs = serializers.JSONField()
    income_sources = serializers.SerializerMethodField(
        help_text="Where exams/day and fee/exam came from: {input: {source: telemetry|declared|"
                  "modality_default|appraiser, label, explanation} | null}, also when the income "
                  "approach was not used.")
    signed_at = serializers.DateTimeField(allow_null=True)
    report_sha256 = serializers.CharField()

    def get_appraiser_name(self, obj) -> str:
        return obj.appraiser.full_name or obj.appraiser.email

    def get_income_sources(self, obj) -> dict:
        return selectors.appraisal_income_sources(appraisal=obj)


class AppraisalListCreateApi(APIView):
    class ComparableInputSerializer(serializers.Serializer):
        price = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
        adjustment_fraction = serializers.DecimalField(max_digits=6, decimal_places=4, default=0)
        description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class AppraisalWeightsInputSerializer(serializers.Serializer):
        cost = serializers.DecimalField(max_digits=6, decimal_places=4, min_value=0, default=1)
        market = serializers.DecimalField(max_digits=6, decimal_places=4, min_value=0, default=0)
        income = serializers.DecimalField(max_digits=6, decimal_places=4, min_value=0, default=0)

    class AppraisalCreateInputSerializer(serializers.Serializer):
        effective_date = serializers.DateField(required=False)
        currency = serializers.CharField(max_length=3, default="USD")
        replacement_cost_new = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
        useful_life_years = serializers.DecimalField(max_digits=4, decimal_places=1, required=False,
                                                     allow_null=True, min_value=1)
        condition_factor = serializers.DecimalField(max_digits=4, decimal_places=3, default=1)
        salvage_fraction = serializers.DecimalField(max_digits=4, decimal_places=3,
                                                    default=valuation.DEFAULT_SALVAGE_FRACTION)
        obsolescence_fraction = serializers.DecimalField(max_digits=4, decimal_places=3, default=0)
        comparables = serializers.ListField(required=False, default=list)
        utilization_per_day = serializers.DecimalField(
            max_digits=7, decimal_places=2, required=False, allow_null=True, min_value=0,
            help_text="Exams/day you assert (recorded as source 'appraiser'). Omitted → measured from "
                      "the device's telemetry when it has any, else the clinic's declared figure, else "
                      "the modality default with its citation.")
        technical_fee_per_exam = serializers.DecimalField(
            max_digits=10, decimal_places=2, required=False, allow_null=True, min_value=0,
            help_text="Fee per exam you assert (source 'appraiser'). Omitted → the fee schedule applied "
                      "to the device's measured procedures, when there are any.")
        operating_days_per_year = serializers.DecimalField(max_digits=4, decimal_places=0, default=300)
        operating_cost_per_year = serializers.DecimalField(max_digits=14, decimal_places=2, default=0)
        discount_rate = serializers.DecimalField(max_digits=6, decimal_places=4, default="0.10")
        weights = serializers.DictField(required=False)
        client = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        intended_users = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
        intended_use = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
        value_definition = serializers.CharField(required=False, allow_blank=True, default="")

        def validate_comparables(self, value):
            s = AppraisalListCreateApi.ComparableInputSerializer(data=value, many=True)
            s.is_valid(raise_exception=True)
            return [{k: str(v) for k, v in row.items()} for row in s.validated_data]

        def validate_weights(self, value):
            s = AppraisalListCreateApi.AppraisalWeightsInputSerializer(data=value)
            s.is_valid(raise_exception=True)
            return dict(s.validated_data)

    @extend_schema(tags=TAG, summary="Appraisals of a device", responses=AppraisalOutputSerializer(many=True))
    def get(self, request, pk):
        device = _device(request, pk)
        # Drafts are the appraiser's working copies: only their author sees them.
        qs = device.appraisals.select_related("appraiser").exclude(
            Q(status="draft") & ~Q(appraiser=request.user))
        return Response(AppraisalOutputSerializer(qs, many=True).data)

    @extend_schema(tags=TAG, summary="Create a draft appraisal (appraiser)", request=AppraisalCreateInputSerializer,
                   responses={201: AppraisalOutputSerializer})
    def post(self, request, pk):
        if not HasRole.of(Role.APPRAISER)().has_permission(request, self):
            raise ApplicationError("permission_denied", gettext("Only appraisers can appraise devices."), status=403)
        device = _device(request, pk)
        s = self.AppraisalCreateInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        data["effective_date"] = data.get("effective_date") or timezone.localdate()
        appraisal = services.appraisal_create(actor=request.user, device=device, **data)
        return Response(AppraisalOutputSerializer(appraisal).data, status=status.HTTP_201_CREATED)


class AppraisalSignApi(APIView):
    permission_classes = [HasRole.of(Role.APPRAISER)]

    @extend_schema(tags=TAG, summary="Sign an appraisal: issues the report PDF, makes it immutable",
                   request=None, responses=AppraisalOutputSerializer)
    def post(self, request, pk, appraisal_pk):
        device = _device(request, pk)
        appraisal = device.appraisals.filter(pk=appraisal_pk).first()
        if appraisal is None:
            raise ApplicationError("not_found", gettext("No such appraisal."), status=404)
        appraisal = services.appraisal_sign(actor=request.user, appraisal=appraisal)
        return Response(AppraisalOutputSerializer(appraisal).data)


class CertificationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    device = serializers.IntegerField(source="device_id")
    passed = serializers.BooleanField()
    checklist = serializers.JSONField()
    qa_calibration_date = serializers.DateField(allow_null=True)
    certificate_sha256 = serializers.CharField()
    verify_url = serializers.SerializerMethodField()

    def get_verify_url(self, obj) -> str:
        return pdfs.verify_url(obj)


class CertificationCreateApi(APIView):
    permission_classes = [HasRole.of(Role.INSPECTOR)]

    class ChecklistItemInputSerializer(serializers.Serializer):
        passed = serializers.BooleanField()
        notes = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")

    class CertificationCreateInputSerializer(serializers.Serializer):
        qa_calibration_date = serializers.DateField(required=False, allow_null=True)
        items = serializers.DictField(help_text="{key: {passed, notes}} for each of: "
                                      + ", ".join(k for k, _ in services.CHECKLIST))

        def validate_items(self, value):
            out = {}
            for key, item in value.items():
                s = CertificationCreateApi.ChecklistItemInputSerializer(data=item)
                s.is_valid(raise_exception=True)
                out[key] = dict(s.validated_data)
            return out

    @extend_schema(tags=TAG, summary="Record the inspection checklist; all pass → certified",
                   request=CertificationCreateInputSerializer, responses={201: CertificationOutputSerializer})
    def post(self, request, pk):
        device = _device(request, pk)
        s = self.CertificationCreateInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        cert = services.certification_complete(
            actor=request.user, device=device, items=s.validated_data["items"],
            qa_calibration_date=s.validated_data.get("qa_calibration_date"))
        return Response(CertificationOutputSerializer(cert).data, status=status.HTTP_201_CREATED)


class DepreciationApi(APIView):
    class DepreciationPointSerializer(serializers.Serializer):
        age_years = serializers.IntegerField()
        value = serializers.DecimalField(max_digits=14, decimal_places=2)

    class DepreciationOutputSerializer(serializers.Serializer):
        currency = serializers.CharField()
        basis = serializers.CharField()
        useful_life = serializers.CharField()
        points = serializers.ListField(child=serializers.DictField())

    @extend_schema(tags=TAG, summary="Cost-approach depreciation curve", responses=DepreciationOutputSerializer)
    def get(self, request, pk):
        device = _device(request, pk)
        d = selectors.depreciation_chart_data(device, selectors.device_signed_appraisal(device=device))
        if not d:
            raise ApplicationError("no_basis", gettext("The device has no purchase price or appraisal to depreciate."),
                                   status=409)
        return Response({"currency": d["currency"], "basis": d["basis"], "useful_life": d["useful_life"],
                         "points": [{"age_years": t, "value": v} for t, v in zip(d["labels"], d["values"],
                                                                                  strict=True)]})


class _QueueApi(APIView):
    selector = None

    def get(self, request):
        qs = type(self).selector(modality=request.query_params.get("modality", ""),
                                 clinic_id=request.query_params.get("clinic") or None)
        pager = Pagination()
        page = pager.paginate_queryset(qs, request, view=self)
        return pager.get_paginated_response(QueueItemSerializer(page, many=True).data)


class QueueItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    modality = serializers.CharField()
    manufacturer = serializers.CharField()
    model_name = serializers.CharField()
    serial_number = serializers.CharField()
    organization_name = serializers.CharField(source="organization.name")
    submitted_at = serializers.DateTimeField()


QUEUE_PARAMS = [OpenApiParameter("modality", str, enum=Modality.values), OpenApiParameter("clinic", int), *PAGE_PARAMS]
QUEUE_PAGE = paginated(QueueItemSerializer, name="PaginatedQueueItemList")


class AppraisalQueueApi(_QueueApi):
    permission_classes = [HasRole.of(Role.APPRAISER, Role.PLATFORM_ADMIN)]
    selector = staticmethod(selectors.appraisal_queue)

    @extend_schema(tags=TAG, summary="Submitted devices, oldest first", parameters=QUEUE_PARAMS,
                   operation_id="v1_devices_appraisal_queue_list",
                   responses=QUEUE_PAGE)
    def get(self, request):
        return super().get(request)


class InspectionQueueApi(_QueueApi):
    permission_classes = [HasRole.of(Role.INSPECTOR, Role.PLATFORM_ADMIN)]
    selector = staticmethod(selectors.inspection_queue)

    @extend_schema(tags=TAG, summary="Appraised devices awaiting inspection, oldest first",
                   operation_id="v1_devices_inspection_queue_list",
                   parameters=QUEUE_PARAMS, responses=QUEUE_PAGE)
    def get(self, request):
        return super().get(request)


class DeviceAnchorRetryApi(APIView):
    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN, Role.INSPECTOR)]

    @extend_schema(tags=TAG, summary="Retry a failed on-chain anchoring (platform admin, inspector)",
                   description="Enqueues a new attempt (new idempotency key) of AssetRegistry.anchor for the "
                               "device's certificate and appraisal hashes. 409 anchor_not_failed unless the "
                               "last attempt failed.",
                   request=None, responses=DeviceOutputSerializer)
    def post(self, request, pk):
        device = services.device_anchor_retry(actor=request.user, device=_device(request, pk))
        return _out(device)


class VerifyDocumentSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=["certificate", "appraisal"])
    label = serializers.CharField()
    download_url = serializers.CharField(allow_null=True)
    file_sha256 = serializers.CharField(allow_null=True, help_text="SHA-256 of the file served at download_url.")
    onchain_sha256 = serializers.CharField(allow_null=True, help_text="From AssetRegistry.anchorOf, read now.")
    match = serializers.BooleanField(allow_null=True, help_text="null when the chain could not be read.")


class VerifyOnchainSerializer(serializers.Serializer):
    state = serializers.CharField(help_text="read | not_anchored | unavailable (the chain could not be read; "
                                            "nothing is claimed).")
    reason = serializers.CharField(allow_blank=True)
    anchor_id = serializers.CharField(allow_blank=True)
    registry = serializers.CharField(allow_blank=True)
    revision = serializers.IntegerField()
    anchored_at = serializers.DateTimeField(allow_null=True)
    tx_hash = serializers.CharField(allow_blank=True)
    block_number = serializers.IntegerField(allow_null=True)
    status = serializers.CharField(allow_blank=True, help_text="Platform-side anchoring status.")
    documents = VerifyDocumentSerializer(many=True)


class VerifyApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    class VerifyOutputSerializer(serializers.Serializer):
        device_id = serializers.IntegerField()
        status = serializers.CharField()
        modality = serializers.CharField()
        manufacturer = serializers.CharField()
        model_name = serializers.CharField()
        serial_number = serializers.CharField()
        udi_di = serializers.CharField()
        owner = serializers.CharField()
        certificate_id = serializers.UUIDField(allow_null=True)
        certificate_sha256 = serializers.CharField(allow_null=True)
        appraisal_sha256 = serializers.CharField(allow_null=True)
        anchor_tx_hash = serializers.CharField(allow_null=True)
        anchor_block_number = serializers.IntegerField(allow_null=True)
        anchor_chain_id = serializers.IntegerField(allow_null=True)
        onchain = VerifyOnchainSerializer(help_text="AssetRegistry.anchorOf read live, compared per PDF.")

    @extend_schema(tags=TAG, summary="Public verification of a device (no login; throttled per address)",
                   description="`ref` is the device's opaque public reference (as in the QR code); "
                               "device ids and certificate UUIDs are 404. 429 `throttled` past "
                               "ASSETS_VERIFY_RATE_PER_MINUTE requests per minute per client address.",
                   responses=VerifyOutputSerializer, auth=[])
    def get(self, request, ref):
        if verify_throttled(request):
            raise ApplicationError("throttled", gettext(
                "More than %(verify_rate_per_minute)s verification requests a minute from this address; "
                "wait a minute.") % {"verify_rate_per_minute": verify_rate_per_minute()}, status=429)
        device, cert = selectors.certification_by_reference(ref)
        onchain = selectors.device_anchor_onchain(device=device, cert=cert)
        for doc in onchain["documents"]:
            doc["download_url"] = reverse(f"assets:verify-{doc['key']}", args=[device.public_ref]) \
                if doc["file_sha256"] else None
        appraisal = cert.appraisal if cert and cert.appraisal_id else None
        return Response(self.VerifyOutputSerializer({
            "device_id": device.pk, "status": device.status, "modality": device.modality,
            "manufacturer": device.manufacturer, "model_name": device.model_name,
            "serial_number": device.serial_number, "udi_di": device.udi_di, "owner": device.organization.name,
            "certificate_id": cert.public_id if cert else None,
            "certificate_sha256": cert.certificate_sha256 if cert else None,
            "appraisal_sha256": appraisal.report_sha256 if appraisal else None,
            "anchor_tx_hash": (cert.anchor_tx_hash or None) if cert else None,
            "anchor_block_number": cert.anchor_block_number if cert else None,
            "anchor_chain_id": cert.anchor_chain_id if cert else None,
            "onchain": onchain,
        }).data)


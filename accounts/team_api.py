"""API twins of clinic signup and the clinic team page (same services as the web views)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api_views import MeApi, check_new_password, user_body
from accounts.models import Membership, Organization
from core.permissions import HasRole, Role, user_clinic_ids

TAG = ["accounts"]


class ClinicSignupApi(APIView):
    permission_classes = [AllowAny]

    class ClinicSignupInputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(min_length=10, write_only=True)
        full_name = serializers.CharField(max_length=200)
        clinic_name = serializers.CharField(max_length=200)
        country = serializers.CharField(max_length=2, required=False, allow_blank=True, default="")
        city = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")

    @extend_schema(tags=TAG, summary="Sign up a clinic and become its first admin",
                   request=ClinicSignupInputSerializer, responses={201: MeApi.MeOutputSerializer})
    def post(self, request):
        s = self.ClinicSignupInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        check_new_password(d["password"])
        user = services.clinic_signup(email=d["email"], password=d["password"], full_name=d["full_name"],
                                      clinic_name=d["clinic_name"], country=d["country"].upper(), city=d["city"])
        return Response(user_body(user), status=status.HTTP_201_CREATED)


class TeamMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The membership id (used to remove it).")
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    role = serializers.CharField()
    clinic_id = serializers.IntegerField(source="organization_id")
    clinic_name = serializers.CharField(source="organization.name")


def _clinic(request, clinic_id) -> Organization:
    """A clinic the caller administers: the one asked for, else their first (404 otherwise)."""
    ids = user_clinic_ids(request.user, roles={Role.CLINIC_ADMIN})
    qs = Organization.objects.filter(pk__in=ids).order_by("name")
    clinic = qs.filter(pk=clinic_id).first() if clinic_id not in (None, "") else qs.first()
    if clinic is None:
        raise Http404("No such clinic.")
    return clinic


CLINIC_PARAM = OpenApiParameter("clinic", int, required=False,
                                description="The clinic (default: the first one you administer).")


class TeamApi(APIView):
    permission_classes = [HasRole.of(Role.CLINIC_ADMIN)]

    class TeamInviteInputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        full_name = serializers.CharField(max_length=200)
        role = serializers.ChoiceField(choices=[Role.CLINIC_STAFF, Role.CLINIC_ADMIN], default=Role.CLINIC_STAFF)
        clinic = serializers.IntegerField(required=False)

    class TeamQuerySerializer(serializers.Serializer):
        clinic = serializers.IntegerField(required=False)

    @extend_schema(tags=TAG, summary="My clinic's team (clinic admins)", parameters=[CLINIC_PARAM],
                   responses=TeamMemberSerializer(many=True))
    def get(self, request):
        # A non-numeric ?clinic= is the caller's mistake (400), not a failed database lookup (500).
        q = self.TeamQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        clinic = _clinic(request, q.validated_data.get("clinic"))
        members = Membership.objects.filter(organization=clinic).select_related("user", "organization")
        return Response(TeamMemberSerializer(members.order_by("user__email"), many=True).data)

    @extend_schema(tags=TAG, summary="Add someone to my clinic's team (they are emailed a link to set a password)",
                   request=TeamInviteInputSerializer, responses={201: TeamMemberSerializer})
    def post(self, request):
        s = self.TeamInviteInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        clinic = _clinic(request, d.get("clinic"))
        membership = services.clinic_member_invite(actor=request.user, organization=clinic, email=d["email"],
                                                   full_name=d["full_name"], role=d["role"])
        return Response(TeamMemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class TeamMemberRemoveApi(APIView):
    permission_classes = [HasRole.of(Role.CLINIC_ADMIN)]

    class TeamRemoveInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(tags=TAG, summary="Remove a member from my clinic's team (clinic admins)",
                   request=TeamRemoveInputSerializer, responses={204: None})
    def post(self, request, membership_id: int):
        s = self.TeamRemoveInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        membership = Membership.objects.select_related("user", "organization").filter(
            pk=membership_id, organization_id__in=user_clinic_ids(request.user, roles={Role.CLINIC_ADMIN})).first()
        if membership is None:
            raise Http404("No such clinic member.")
        services.clinic_member_remove(actor=request.user, membership=membership, reason=s.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)

"""The notifications API: my notifications, unread count, marking read, email preferences."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import PAGE_PARAMS, Pagination, paginated
from notifications import selectors, services
from notifications.models import Category


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField(help_text="A path on this site, or empty.")
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationListApi(APIView):
    @extend_schema(tags=["notifications"], summary="My notifications, newest first",
                   parameters=[OpenApiParameter("unread", bool, description="Only unread ones"), *PAGE_PARAMS],
                   responses=paginated(NotificationOutputSerializer, name="NotificationPage"))
    def get(self, request):
        unread = request.query_params.get("unread", "").lower() in ("1", "true")
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.notifications_for(user=request.user, unread_only=unread),
                                           request, view=self)
        return paginator.get_paginated_response(NotificationOutputSerializer(page, many=True).data)


class UnreadCountApi(APIView):
    class UnreadCountOutputSerializer(serializers.Serializer):
        unread = serializers.IntegerField()

    @extend_schema(tags=["notifications"], summary="How many of my notifications are unread",
                   responses=UnreadCountOutputSerializer)
    def get(self, request):
        return Response({"unread": selectors.unread_count(user=request.user)})


class MarkReadApi(APIView):
    @extend_schema(tags=["notifications"], summary="Mark one notification read", request=None,
                   responses=NotificationOutputSerializer)
    def post(self, request, pk: int):
        n = selectors.notification_get_for_user(user=request.user, pk=pk)
        n = services.notification_mark_read(actor=request.user, notification=n)
        return Response(NotificationOutputSerializer(n).data)


class MarkAllReadApi(APIView):
    class MarkAllReadOutputSerializer(serializers.Serializer):
        marked = serializers.IntegerField()
        unread = serializers.IntegerField()

    @extend_schema(tags=["notifications"], summary="Mark all my notifications read", request=None,
                   responses=MarkAllReadOutputSerializer)
    def post(self, request):
        marked = services.notification_mark_all_read(actor=request.user)
        return Response({"marked": marked, "unread": selectors.unread_count(user=request.user)})


class PreferencesApi(APIView):
    class PreferenceOutputSerializer(serializers.Serializer):
        category = serializers.CharField()
        label = serializers.CharField()
        email = serializers.BooleanField()
        locked = serializers.BooleanField(help_text="Security and legal notices are always emailed.")

    class PreferencesInputSerializer(serializers.Serializer):
        email = serializers.DictField(child=serializers.BooleanField(),
                                      help_text=f"Category → email on/off. Categories: {', '.join(Category.values)}.")

    @extend_schema(tags=["notifications"], summary="My email preferences per category",
                   responses=PreferenceOutputSerializer(many=True))
    def get(self, request):
        return Response(self.PreferenceOutputSerializer(selectors.preference_rows(user=request.user), many=True).data)

    @extend_schema(tags=["notifications"], summary="Switch email on or off per category",
                   request=PreferencesInputSerializer, responses=PreferenceOutputSerializer(many=True))
    def put(self, request):
        s = self.PreferencesInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.preferences_update(actor=request.user, email=s.validated_data["email"])
        return Response(self.PreferenceOutputSerializer(selectors.preference_rows(user=request.user), many=True).data)

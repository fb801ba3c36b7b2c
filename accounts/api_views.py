from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts import services
from core.errors import ApplicationError
from core.permissions import user_roles


class MeApi(APIView):
    class MeOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        full_name = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())

    @extend_schema(tags=["accounts"], summary="The signed-in user and their roles",
                   responses=MeOutputSerializer)
    def get(self, request):
        u = request.user
        return Response(self.MeOutputSerializer(
            {"id": u.pk, "email": u.email, "full_name": u.full_name, "roles": sorted(user_roles(u))}
        ).data)


class TokenObtainApi(APIView):
    """Machine clients exchange email + password for an API token."""

    permission_classes = [AllowAny]
    # The scope alone does nothing: no default throttle class is configured, so without this
    # the endpoint took unlimited password guesses.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "anon"

    class TokenObtainInputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField()

    @extend_schema(tags=["accounts"], summary="Obtain an API token", request=TokenObtainInputSerializer,
                   responses=inline_serializer("TokenOut", {"token": serializers.CharField()}))
    def post(self, request):
        s = self.TokenObtainInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = authenticate(request, username=s.validated_data["email"].lower(),
                            password=s.validated_data["password"])
        if user is None:
            raise ApplicationError("invalid_credentials", "Email or password is wrong.", status=401)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class InvestorSignupApi(APIView):
    permission_classes = [AllowAny]

    class InvestorSignupInputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(min_length=10, write_only=True)
        full_name = serializers.CharField(max_length=200)

    @extend_schema(tags=["accounts"], summary="Sign up as an investor", request=InvestorSignupInputSerializer,
                   responses={201: MeApi.MeOutputSerializer})
    def post(self, request):
        from django.contrib.auth import password_validation
        from django.core.exceptions import ValidationError

        s = self.InvestorSignupInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            password_validation.validate_password(s.validated_data["password"])
        except ValidationError as exc:
            raise ApplicationError("validation_error", "The request is invalid.",
                                   details={"password": exc.messages}) from exc
        user = services.investor_signup(**s.validated_data)
        return Response({"id": user.pk, "email": user.email, "full_name": user.full_name,
                         "roles": sorted(user_roles(user))}, status=status.HTTP_201_CREATED)

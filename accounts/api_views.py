"""The accounts API: the signed-in user, profile, password, time zone and language, API tokens,
investor signup."""

from django.contrib.auth import authenticate, password_validation, update_session_auth_hash
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts import services, throttling
from core.errors import ApplicationError
from core.permissions import user_roles


def user_body(user) -> dict:
    """A user as the API shows it: the fields of `MeApi.MeOutputSerializer`."""
    return {"id": user.pk, "email": user.email, "full_name": user.full_name, "roles": sorted(user_roles(user)),
            "time_zone": user.time_zone}


def check_new_password(password: str) -> None:
    """Django's password validators for a signup; a failure is a 400 validation_error listing
    the reasons under details.password."""
    try:
        password_validation.validate_password(password)
    except ValidationError as exc:
        raise ApplicationError("validation_error", gettext("The request is invalid."),
                               details={"password": exc.messages}) from exc


class MeApi(APIView):
    """The signed-in user; PATCH is the twin of the profile page's form."""

    class MeOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        full_name = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())
        time_zone = serializers.CharField(help_text="IANA zone used for the times shown to this user.")

    @extend_schema(tags=["accounts"], summary="The signed-in user and their roles",
                   responses=MeOutputSerializer)
    def get(self, request):
        return Response(self.MeOutputSerializer(user_body(request.user)).data)

    class ProfileInputSerializer(serializers.Serializer):
        full_name = serializers.CharField(max_length=200, required=False)
        time_zone = serializers.CharField(max_length=64, required=False,
                                          help_text='IANA name, e.g. "Europe/Zurich".')

    @extend_schema(tags=["accounts"], summary="Change your full name or time zone (the profile page's form)",
                   request=ProfileInputSerializer, responses=MeOutputSerializer)
    def patch(self, request):
        s = self.ProfileInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        user = services.profile_update(actor=request.user, user=request.user,
                                       full_name=d.get("full_name", request.user.full_name),
                                       time_zone=d.get("time_zone"))
        return Response(self.MeOutputSerializer(user_body(user)).data)


class MeTimeZoneApi(APIView):
    """The twin of the profile page's time zone field."""

    class TimeZoneSerializer(serializers.Serializer):
        time_zone = serializers.CharField(max_length=64, help_text='IANA name, e.g. "Europe/Zurich".')

    @extend_schema(tags=["accounts"], summary="Your time zone", responses=TimeZoneSerializer)
    def get(self, request):
        return Response({"time_zone": request.user.time_zone})

    @extend_schema(tags=["accounts"], summary="Set your time zone (pages, emails and statements use it)",
                   request=TimeZoneSerializer, responses=TimeZoneSerializer)
    def put(self, request):
        s = self.TimeZoneSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = services.user_set_time_zone(actor=request.user, user=request.user,
                                           time_zone=s.validated_data["time_zone"])
        return Response({"time_zone": user.time_zone})


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
        email = s.validated_data["email"].lower()
        # The same per-account lockout as the web login: neither door dodges the other.
        if throttling.login_blocked(email=email, request=request):
            raise ApplicationError("throttled", throttling.LOCKED_MESSAGE, status=429)
        user = authenticate(request, username=email, password=s.validated_data["password"])
        if user is None:
            throttling.login_failed(email=email, request=request)
            raise ApplicationError("invalid_credentials", gettext("Email or password is wrong."), status=401)
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
        s = self.InvestorSignupInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        check_new_password(s.validated_data["password"])
        user = services.investor_signup(**s.validated_data)
        return Response(user_body(user), status=status.HTTP_201_CREATED)


class LanguageApi(APIView):
    """The API twin of the header's language switcher: saves the signed-in user's language."""

    class LanguageInputSerializer(serializers.Serializer):
        language = serializers.CharField(allow_blank=True, max_length=10,
                                         help_text='"en", "zh-hans", or "" to follow the browser')

    class LanguageOutputSerializer(serializers.Serializer):
        language = serializers.CharField()

    @extend_schema(tags=["accounts"], summary="Set the signed-in user's language",
                   request=LanguageInputSerializer, responses=LanguageOutputSerializer)
    def post(self, request):
        s = self.LanguageInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = services.user_set_language(actor=request.user, user=request.user,
                                          language=s.validated_data["language"])
        return Response(self.LanguageOutputSerializer({"language": user.language}).data)


class PasswordChangeApi(APIView):
    """The twin of the web's Change password page. Every API token of the user is revoked (a
    password changed because it leaked takes a stolen token with it): a caller that came with
    a token gets its new one in the answer; a browser session stays signed in."""

    class PasswordChangeInputSerializer(serializers.Serializer):
        current_password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
        new_password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128,
                                             help_text="Checked by the same rules as at signup.")

    class PasswordChangeOutputSerializer(serializers.Serializer):
        token = serializers.CharField(allow_null=True,
                                      help_text="Your new API token when you called with one; else null.")

    @extend_schema(tags=["accounts"], summary="Change your password (proving the current one)",
                   request=PasswordChangeInputSerializer, responses=PasswordChangeOutputSerializer)
    def post(self, request):
        s = self.PasswordChangeInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = throttling.password_change(request, **s.validated_data)
        token = None
        if isinstance(request.auth, Token):
            token = Token.objects.create(user=user).key
        else:
            update_session_auth_hash(request, user)
        return Response(self.PasswordChangeOutputSerializer({"token": token}).data)


class _Detail(serializers.Serializer):
    detail = serializers.CharField()


class PasswordResetApi(APIView):
    """The twin of the web's "Reset your password" form: the same email, with the same one-time
    link. The answer is the same whether or not an account uses the address (no enumeration)."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "anon"

    class PasswordResetInputSerializer(serializers.Serializer):
        email = serializers.EmailField()

    @extend_schema(tags=["accounts"], summary="Email a password reset link", request=PasswordResetInputSerializer,
                   responses={202: _Detail})
    def post(self, request):
        s = self.PasswordResetInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        form = PasswordResetForm({"email": s.validated_data["email"]})
        if form.is_valid():
            form.save(request=request, use_https=request.is_secure(),
                      email_template_name="accounts/password_reset_email.txt")
        detail = gettext("If an account exists for that address, we sent a link to reset its password.")
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(APIView):
    """The twin of the page the emailed link opens: `uid` and `token` are the link's last two
    path segments (/accounts/reset/<uid>/<token>/). The link works once."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "anon"

    class PasswordResetConfirmInputSerializer(serializers.Serializer):
        uid = serializers.CharField(max_length=64)
        token = serializers.CharField(max_length=128)
        new_password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)

    @extend_schema(tags=["accounts"], summary="Set a new password from an emailed reset link",
                   request=PasswordResetConfirmInputSerializer, responses=_Detail)
    def post(self, request):
        s = self.PasswordResetConfirmInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        user = services.user_from_reset_link(uid=d["uid"], token=d["token"])
        if user is None:
            message = gettext("This reset link is invalid or was already used.")
            raise ApplicationError("invalid_reset_link", message, details={"token": [message]})
        services.password_reset_complete(user=user, new_password=d["new_password"])
        return Response({"detail": gettext("Password changed")})

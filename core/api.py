"""The one API exception handler and pagination. Every API error has the shape
{"error": {"code", "message", "details"}}."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, details=None) -> dict:
    """Messages are for people, so they follow the request's language (gettext here catches any
    message raised before it was translated); codes are for programs and stay English."""
    return {"error": {"code": code, "message": gettext(str(message)) if message else message,
                      "details": details or {}}}


_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
        if exc.status == 429 and "retry_after_s" in exc.details:
            # Clients (the device agent among them) read the standard header, not our body.
            response["Retry-After"] = str(int(exc.details["retry_after_s"]))
        return response
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(
            error_body("validation_error", gettext("The request is invalid."), details),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RecursionError):
        # DRF's JSON parser turns only ValueError into a 400; absurd nesting arrives here.
        return Response(error_body("malformed_request", gettext("The request body is nested too deeply.")),
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            error_body("internal_error", gettext("Something went wrong on our side. It has been logged.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = gettext("The request is invalid.")
    else:
        details = {}
        message = str(exc.detail)
    response.data = error_body(code, message, details)
    return response


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


PAGE_PARAMS = [OpenApiParameter("page", int), OpenApiParameter("page_size", int)]


def paginated(serializer_class, *, name: str):
    """The OpenAPI response of an APIView that pages with Pagination by hand: drf-spectacular wraps
    only generic list views, so without this the schema promises a bare array."""
    return inline_serializer(name, {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer_class(many=True),
    })

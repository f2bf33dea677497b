"""Every error the API gives is JSON, 4xx, with a message a developer can act on."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.views import exception_handler as drf_exception_handler

from consent.services.errors import ConsentError


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, limit: int):
        super().__init__(f"The body is larger than {limit} bytes.")


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        message = _first_message(value)
        return message if field == "non_field_errors" else f"{field}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def error_body(code: str, message: str, details=None) -> dict:
    body = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return body


def exception_handler(exc, context):
    """DRF's handler, reshaped to one format: {"error": {"code", "message", "details"?}}."""
    from rest_framework.response import Response

    if isinstance(exc, ConsentError):
        details = {exc.field: [exc.message]} if exc.field else None
        return Response(error_body(exc.code, exc.message, details), status=exc.status)
    # Django's own exceptions, as DRF's handler turns them into its own.
    if isinstance(exc, Http404):
        exc = NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a server fault: Django's handler500 answers (JSON, no trace)
    if isinstance(exc, ValidationError):
        response.data = error_body("invalid", _first_message(exc.detail), exc.detail)
    else:
        codes = exc.get_codes() if isinstance(exc, APIException) else "error"
        response.data = error_body(codes if isinstance(codes, str) else "error", _first_message(exc.detail))
    return response


def json_error_view(status_code: int, code: str, message: str):
    def view(request, exception=None):
        return JsonResponse(error_body(code, message), status=status_code)

    return view


bad_request = json_error_view(400, "bad_request", "The request could not be understood.")
permission_denied = json_error_view(403, "forbidden", "You may not do this.")
not_found = json_error_view(404, "not_found", "Nothing is here.")
server_error = json_error_view(500, "server_error", "Something went wrong on our side; it has been logged.")

"""One place that turns errors into the API's JSON error shape.

Every error response is `{"error": "<message for a human>", "code": "<machine code>"}` with the
status of the error: service errors (`annotation.errors.ServiceError`: 400 / 404 / 409), DRF's
own (401, 403, 404, 405, 415, serializer validation 400 — those add `"fields"` with the
per-field messages). Views never catch errors themselves.
"""

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import ServiceError


def _first_message(detail) -> str:
    """The first human-readable message in a (possibly nested) DRF error detail."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            message = _first_message(value)
            if field in ("non_field_errors", "detail"):
                return message
            return f"{field}: {message}"
        return "Invalid input."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def _first_code(detail) -> str:
    if isinstance(detail, dict):
        return next((_first_code(v) for v in detail.values()), "invalid")
    if isinstance(detail, list):
        return _first_code(detail[0]) if detail else "invalid"
    return getattr(detail, "code", None) or "invalid"


def api_exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        body = {"error": exc.message, "code": exc.code}
        if exc.details is not None:
            body["details"] = exc.details
        return Response(body, status=exc.status)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling (and logging) takes over
    detail = getattr(exc, "detail", None)
    if detail is None:  # Django's Http404 / PermissionDenied, converted by DRF
        detail = response.data.get("detail", "Error.")
    body = {"error": _first_message(detail), "code": _first_code(detail)}
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        body["fields"] = response.data
    response.data = body
    return response

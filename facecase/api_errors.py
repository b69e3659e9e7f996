"""Errors under ``/api/`` are JSON, always, in one of two shapes:

- ``{"detail": "<message>"}`` for errors about the request as a whole (403, 404, 405, 409, 413, 415, 500, and a
  body that is not JSON at all), or
- field errors ``{"<field>": ["<message>", ...]}`` for input that does not validate (400); errors that belong to
  no single field are under ``non_field_errors``.

DRF's views answer through ``api_exception_handler``; what happens before or outside a DRF view (no URL matched,
an uncaught exception, a request Django itself refuses) goes through the ``handler400/403/404/500`` below, which
answer JSON for ``/api/`` paths and the site's HTML pages everywhere else.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField(help_text="what went wrong, for a person to read")


# Field errors cannot be a serializer (their keys are the input's field names), so their schema is written out.
FIELD_ERRORS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": 'Field errors: {"<field>": ["<message>", ...]}, or {"detail": "<message>"} for a body that '
                   "could not be parsed at all.",
    "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
}


# Codes of a service's ValidationError that mean "the state of things forbids it", not "the input is wrong".
CONFLICT_CODES = frozenset({"unique", "conflict"})


def as_drf_error(exc: DjangoValidationError) -> exceptions.APIException:
    """A service's ``ValidationError`` as the API answer: a uniqueness clash or an error raised with
    ``code="conflict"`` is a 409 ``{"detail": ...}``, anything else a 400 with field errors."""
    if hasattr(exc, "error_dict"):
        codes = {error.code for errors in exc.error_dict.values() for error in errors}
        if codes and codes <= CONFLICT_CODES:
            return Conflict(" ".join(message for messages in exc.message_dict.values() for message in messages))
        return serializers.ValidationError(exc.message_dict)
    if {error.code for error in exc.error_list} & CONFLICT_CODES:
        return Conflict(" ".join(exc.messages))
    return serializers.ValidationError({"non_field_errors": exc.messages})


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": str(exc) or "request body too large"},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DjangoValidationError):
        exc = as_drf_error(exc)
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response


def _json_error(detail: str, status_code: int) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status_code)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        if isinstance(exception, RequestDataTooBig):
            return _json_error("request body too large", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        return _json_error("Bad request.", status.HTTP_400_BAD_REQUEST)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _json_error("You do not have permission to perform this action.", status.HTTP_403_FORBIDDEN)
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _json_error("Not found.", status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _json_error("Server error: it has been logged.", status.HTTP_500_INTERNAL_SERVER_ERROR)
    return defaults.server_error(request)

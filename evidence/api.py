"""REST endpoints that export evidence packages: ``POST /api/cases/<id>/export/`` and ``POST /api/alerts/<id>/export/``.

The answer is the signed zip itself (``application/zip``, its SHA-256 in ``X-Package-SHA256``); errors are JSON.
The export and the download are audited with the package's SHA-256 (``evidence.build``).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from evidence.build import (
    ALERT_SCOPES,
    ExportRefused,
    alert_get_for_export,
    case_get_for_export,
    evidence_export_alert,
    evidence_export_case,
)
from evidence.views import package_response
from facecase.permissions import MethodPermission


class JsonErrorsAnyAccept(DefaultContentNegotiation):
    """The success body is a zip whatever the client accepts; errors are always JSON (never a 406)."""

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type


class CaseExportInput(serializers.Serializer):
    alerts = serializers.ChoiceField(choices=ALERT_SCOPES, default="confirmed",
                                     help_text="confirmed: only alerts a reviewer confirmed; all: every alert")


class ExportError(serializers.Serializer):
    detail = serializers.CharField()


class ExportValidationError(serializers.Serializer):
    alerts = serializers.ListField(child=serializers.CharField(), required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False,
                                             help_text="the body is not a JSON object")


PACKAGE = OpenApiResponse(OpenApiTypes.BINARY, description="the signed evidence package (zip); header "
                                                           "X-Package-SHA256 holds its SHA-256")
ERRORS = {
    (401, "application/json"): OpenApiResponse(ExportError, description="not logged in"),
    (403, "application/json"): OpenApiResponse(ExportError, description="the user's role may not export"),
    (404, "application/json"): OpenApiResponse(ExportError, description="no such object, or one the user may not "
                                                                        "see"),
    (409, "application/json"): OpenApiResponse(ExportError, description="export refused: a stored file no longer "
                                                                        "matches its recorded SHA-256"),
}


class CaseExportApi(APIView):
    permission_classes = [MethodPermission]
    required_perms = {"POST": "facecase.view_case"}
    content_negotiation_class = JsonErrorsAnyAccept

    @extend_schema(request=CaseExportInput, responses={(200, "application/zip"): PACKAGE, **ERRORS,
                                                       (400, "application/json"): ExportValidationError},
                   summary="Export a case as a signed evidence package")
    def post(self, request: Request, pk: int) -> Response:
        case = case_get_for_export(request.user, pk)
        if case is None:
            raise NotFound("no such case")
        data = CaseExportInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = evidence_export_case(actor=request.user, case=case, alerts=data.validated_data["alerts"],
                                          via="api")
        except ExportRefused as exc:
            return Response({"detail": f"export refused: {exc}"}, status=status.HTTP_409_CONFLICT)
        return package_response(actor=request.user, result=result, obj=case, via="api")


class AlertExportApi(APIView):
    permission_classes = [MethodPermission]
    required_perms = {"POST": "footage.view_alert"}
    content_negotiation_class = JsonErrorsAnyAccept

    @extend_schema(request=None, responses={(200, "application/zip"): PACKAGE, **ERRORS},
                   summary="Export one alert as a signed evidence package")
    def post(self, request: Request, pk: int) -> Response:
        alert = alert_get_for_export(request.user, pk)
        if alert is None:
            raise NotFound("no such alert")
        try:
            result = evidence_export_alert(actor=request.user, alert=alert, via="api")
        except ExportRefused as exc:
            return Response({"detail": f"export refused: {exc}"}, status=status.HTTP_409_CONFLICT)
        return package_response(actor=request.user, result=result, obj=alert, via="api")

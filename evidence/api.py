"""REST endpoints for evidence packages.

``POST /api/cases/<id>/export/`` and ``POST /api/alerts/<id>/export/`` queue an export and answer 202 with its
record (``Location``: ``/api/exports/<id>/``); the worker builds the package. ``GET /api/exports/<id>/`` follows it
(queued, running, done, failed with the reason); ``GET /api/exports/<id>/download/`` answers the signed zip itself
(``application/zip``, its SHA-256 in ``X-Package-SHA256``) once it is done, a 409 before. Errors are JSON.
Exports and downloads are audited with the package's SHA-256 (``evidence.build``, ``evidence.services``).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from evidence.build import ALERT_SCOPES, alert_get_for_export, case_get_for_export
from evidence.models import EvidenceExport
from evidence.services import ExportNotReady, evidence_export_download, evidence_export_request, export_get_for_user
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


class ExportOutput(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.get_username", read_only=True)
    alerts = serializers.CharField(help_text="for a case export: confirmed or all; empty for an alert")
    error = serializers.CharField(help_text="why the export failed (status failed)")
    sha256 = serializers.CharField(help_text="the package's SHA-256 (status done), else empty")
    size = serializers.IntegerField(allow_null=True, min_value=0, max_value=2**63 - 1)
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="files, alerts, footage (done)")
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceExport
        fields = ["id", "kind", "case", "alert", "alerts", "status", "error", "requested_by", "requested_at",
                  "started_at", "finished_at", "filename", "sha256", "size", "counts", "url", "download_url"]

    def get_url(self, obj: EvidenceExport) -> str:
        return reverse("api:export-detail", args=[obj.pk], request=self.context.get("request"))

    def get_download_url(self, obj: EvidenceExport) -> str | None:
        if obj.status != EvidenceExport.Status.DONE:
            return None
        return reverse("api:export-download", args=[obj.pk], request=self.context.get("request"))


PACKAGE = OpenApiResponse(OpenApiTypes.BINARY, description="the signed evidence package (zip); header "
                                                           "X-Package-SHA256 holds its SHA-256")
QUEUED = OpenApiResponse(ExportOutput, description="the export is queued; follow its url (also in Location)")
ERRORS = {
    (401, "application/json"): OpenApiResponse(ExportError, description="not logged in"),
    (403, "application/json"): OpenApiResponse(ExportError, description="the user's role may not export"),
    (404, "application/json"): OpenApiResponse(ExportError, description="no such object, or one the user may not "
                                                                        "see"),
}


def _queued(request: Request, export: EvidenceExport) -> Response:
    body = ExportOutput(export, context={"request": request}).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class CaseExportApi(APIView):
    permission_classes = [MethodPermission]
    required_perms = {"POST": "facecase.view_case"}

    @extend_schema(request=CaseExportInput, responses={202: QUEUED, **ERRORS,
                                                       (400, "application/json"): ExportValidationError},
                   summary="Queue the export of a case as a signed evidence package")
    def post(self, request: Request, pk: int) -> Response:
        case = case_get_for_export(request.user, pk)
        if case is None:
            raise NotFound("no such case")
        data = CaseExportInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _queued(request, evidence_export_request(actor=request.user, case=case,
                                                        alerts=data.validated_data["alerts"], via="api"))


class AlertExportApi(APIView):
    permission_classes = [MethodPermission]
    required_perms = {"POST": "footage.view_alert"}

    @extend_schema(request=None, responses={202: QUEUED, **ERRORS},
                   summary="Queue the export of one alert as a signed evidence package")
    def post(self, request: Request, pk: int) -> Response:
        alert = alert_get_for_export(request.user, pk)
        if alert is None:
            raise NotFound("no such alert")
        return _queued(request, evidence_export_request(actor=request.user, alert=alert, via="api"))


def _export_or_404(request: Request, pk: int) -> EvidenceExport:
    export = export_get_for_user(request.user, pk)
    if export is None:
        raise NotFound("no such export")
    return export


class ExportDetailApi(APIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "facecase.view_case"}

    @extend_schema(responses={200: ExportOutput, **ERRORS}, summary="An evidence export's state")
    def get(self, request: Request, pk: int) -> Response:
        return Response(ExportOutput(_export_or_404(request, pk), context={"request": request}).data)


class ExportDownloadApi(APIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "facecase.view_case"}
    content_negotiation_class = JsonErrorsAnyAccept

    @extend_schema(responses={(200, "application/zip"): PACKAGE, **ERRORS,
                              (409, "application/json"): OpenApiResponse(
                                  ExportError, description="the package is not ready (queued, running or failed)")},
                   summary="Download a finished evidence package (audited)")
    def get(self, request: Request, pk: int) -> Response:
        export = _export_or_404(request, pk)
        try:
            result = evidence_export_download(actor=request.user, export=export, via="api")
        except ExportNotReady as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return package_response(result)

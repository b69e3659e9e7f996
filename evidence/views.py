"""Pages that hand out evidence packages (the case page's and the alert page's export buttons queue an export; the
export's page follows it and offers the download) and the admin page with the installation's signing key. Thin: find
what the user may export (404 otherwise), call the service, send."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from evidence import signing
from evidence.build import ALERT_SCOPES, EXPORT_ROLES, ExportResult, alert_get_for_export, case_get_for_export
from evidence.models import EvidenceExport
from evidence.services import (
    ExportNotReady,
    evidence_export_download,
    evidence_export_request,
    export_get_for_user,
    export_list_for,
)
from facecase.ui import role_required


def package_response(result: ExportResult) -> FileResponse:
    """The zip as a download, its SHA-256 in a header (the caller has audited the hand-over)."""
    response = FileResponse(open(result.path, "rb"), as_attachment=True, filename=result.filename,  # closed by Django
                            content_type="application/zip")
    response["X-Package-SHA256"] = result.sha256
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(*EXPORT_ROLES)
@require_POST
def case_export(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the case's package; the export's page follows it and offers the download."""
    case = case_get_for_export(request.user, pk)
    if case is None:
        raise Http404("no such case")
    scope = request.POST.get("alerts", "confirmed")
    if scope not in ALERT_SCOPES:
        messages.error(request, "Choose which alerts to export: confirmed or all.")
        return redirect("case-detail", pk=case.pk)
    export = evidence_export_request(actor=request.user, case=case, alerts=scope, via="web")
    return redirect("export-detail", pk=export.pk)


@role_required(*EXPORT_ROLES)
@require_POST
def alert_export(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_get_for_export(request.user, pk)
    if alert is None:
        raise Http404("no such alert")
    export = evidence_export_request(actor=request.user, alert=alert, via="web")
    return redirect("export-detail", pk=export.pk)


def _export_or_404(request: HttpRequest, pk: int) -> EvidenceExport:
    export = export_get_for_user(request.user, pk)
    if export is None:
        raise Http404("no such export")
    return export


@role_required(*EXPORT_ROLES)
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The export's state (the page reloads itself while the worker builds it) and, once done, its download."""
    export = _export_or_404(request, pk)
    return TemplateResponse(request, "evidence/export_detail.html", {"export": export})


@role_required(*EXPORT_ROLES)
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    export = _export_or_404(request, pk)
    try:
        result = evidence_export_download(actor=request.user, export=export, via="web")
    except ExportNotReady as exc:
        messages.error(request, str(exc))
        return redirect("export-detail", pk=export.pk)
    return package_response(result)


def case_exports_context(request: HttpRequest, case: Any) -> dict[str, Any]:
    """The case page's recent exports (only for those who may export it)."""
    if case_get_for_export(request.user, case.pk) is None:
        return {}
    return {"evidence_exports": list(export_list_for(case=case))}


def alert_exports_context(request: HttpRequest, alert: Any) -> dict[str, Any]:
    if alert_get_for_export(request.user, alert.pk) is None:
        return {"can_export_alert": False}
    return {"can_export_alert": True, "evidence_exports": list(export_list_for(alert=alert))}


def signing_key_admin(request: HttpRequest) -> HttpResponse:
    """Admin page (wrapped by ``admin.site.admin_view`` in the URLconf): the key recipients compare packages with."""
    from django.contrib import admin

    return TemplateResponse(request, "admin/evidence_signing_key.html", {
        **admin.site.each_context(request), "title": "Evidence signing key", "key": signing.public_key_info(),
        "key_file": signing.key_path(), "configured": bool(signing.configured_key_file()),
    })

"""Pages that hand out evidence packages (the case page's and the alert page's export buttons) and the admin page
with the installation's signing key. Thin: find what the user may export (404 otherwise), call the service, send."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from evidence import signing
from evidence.build import (
    ALERT_SCOPES,
    EXPORT_ROLES,
    ExportRefused,
    ExportResult,
    alert_get_for_export,
    case_get_for_export,
    evidence_download_record,
    evidence_export_alert,
    evidence_export_case,
)
from facecase.ui import role_required


def package_response(*, actor: Any, result: ExportResult, obj: Any, via: str) -> FileResponse:
    """The zip as a download, its SHA-256 in a header; the hand-over is audited before the first byte leaves."""
    evidence_download_record(actor=actor, result=result, obj=obj, via=via)
    response = FileResponse(open(result.path, "rb"), as_attachment=True, filename=result.filename,  # closed by Django
                            content_type="application/zip")
    response["X-Package-SHA256"] = result.sha256
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(*EXPORT_ROLES)
@require_POST
def case_export(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_get_for_export(request.user, pk)
    if case is None:
        raise Http404("no such case")
    scope = request.POST.get("alerts", "confirmed")
    if scope not in ALERT_SCOPES:
        messages.error(request, "Choose which alerts to export: confirmed or all.")
        return redirect("case-detail", pk=case.pk)
    try:
        result = evidence_export_case(actor=request.user, case=case, alerts=scope, via="web")
    except ExportRefused as exc:
        messages.error(request, f"Export refused: {exc}")
        return redirect("case-detail", pk=case.pk)
    return package_response(actor=request.user, result=result, obj=case, via="web")


@role_required(*EXPORT_ROLES)
@require_POST
def alert_export(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_get_for_export(request.user, pk)
    if alert is None:
        raise Http404("no such alert")
    try:
        result = evidence_export_alert(actor=request.user, alert=alert, via="web")
    except ExportRefused as exc:
        messages.error(request, f"Export refused: {exc}")
        return redirect("alert-detail", pk=alert.pk)
    return package_response(actor=request.user, result=result, obj=alert, via="web")


def signing_key_admin(request: HttpRequest) -> HttpResponse:
    """Admin page (wrapped by ``admin.site.admin_view`` in the URLconf): the key recipients compare packages with."""
    from django.contrib import admin

    return TemplateResponse(request, "admin/evidence_signing_key.html", {
        **admin.site.each_context(request), "title": "Evidence signing key", "key": signing.public_key_info(),
        "key_file": signing.key_path(), "configured": bool(signing.configured_key_file()),
    })

"""Exports requested from a page or the API run on the queue: the request records an ``EvidenceExport`` and queues
it (on commit), the worker builds the package (``evidence.build``), downloads are checked and audited.

Management commands still build synchronously (``evidence.build.evidence_export_case`` / ``_alert``).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from evidence.build import (
    ALERT_SCOPES,
    ExportRefused,
    ExportResult,
    alert_get_for_export,
    case_get_for_export,
    evidence_download_record,
    evidence_export_alert,
    evidence_export_case,
)
from evidence.models import EvidenceExport
from facecase.models import Case
from facecase.services import audit_record
from footage.models import Alert

log = logging.getLogger("evidence")
TASK = "evidence.tasks.evidence_export_task"


class ExportNotReady(Exception):
    """The package of an export that is still queued or running, or that failed, cannot be downloaded."""


def evidence_export_request(*, actor: Any, case: Case | None = None, alert: Alert | None = None,
                            alerts: str = "confirmed", via: str = "web") -> EvidenceExport:
    """Record the request (audited ``export_request``) and queue its build once the transaction commits."""
    if (case is None) == (alert is None):
        raise ValueError("export either a case or an alert")
    if case is not None and alerts not in ALERT_SCOPES:
        raise ValueError(f"alerts must be one of {ALERT_SCOPES}, not {alerts!r}")
    with transaction.atomic():
        export = EvidenceExport(kind=EvidenceExport.Kind.CASE if case else EvidenceExport.Kind.ALERT, case=case,
                                alert=alert, alerts=alerts if case else "", via=via, requested_by=actor)
        export.full_clean()
        export.save()
        audit_record(actor=actor, verb="export_request", obj=case or alert,
                     details={"export": export.pk, "alerts": export.alerts, "via": via})
        transaction.on_commit(lambda: _enqueue(export.pk))
    return export


def _enqueue(export_id: int) -> None:
    try:
        from django_q.tasks import async_task

        async_task(TASK, export_id, task_name=f"evidence-export-{export_id}")
    except Exception as exc:  # the queue is down: the row says so where the requester looks
        log.warning("could not queue evidence export %s", export_id, exc_info=True)
        EvidenceExport.objects.filter(pk=export_id, status=EvidenceExport.Status.QUEUED).update(
            status=EvidenceExport.Status.FAILED, finished_at=timezone.now(),
            error=f"could not be queued: {type(exc).__name__}: {exc}")


def evidence_export_run(export_id: int) -> str:
    """The worker's side: claim the queued row (a second delivery does nothing), build, record the outcome.

    The requester's right to export is checked again now: a member removed from the case since the request gets
    a failed export, not a package."""
    claimed = EvidenceExport.objects.filter(pk=export_id, status=EvidenceExport.Status.QUEUED).update(
        status=EvidenceExport.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return "not queued (already run)"
    export = EvidenceExport.objects.select_related("requested_by", "case", "alert").get(pk=export_id)
    actor = export.requested_by
    try:
        if export.kind == EvidenceExport.Kind.CASE:
            case = case_get_for_export(actor, export.case_id) if export.case_id else None
            if case is None:
                raise ExportRefused("the requester may no longer export this case")
            result = evidence_export_case(actor=actor, case=case, alerts=export.alerts, via=export.via)
        else:
            alert = alert_get_for_export(actor, export.alert_id) if export.alert_id else None
            if alert is None:
                raise ExportRefused("the requester may no longer export this alert")
            result = evidence_export_alert(actor=actor, alert=alert, via=export.via)
    except ExportRefused as exc:
        _finish(export, status=EvidenceExport.Status.FAILED, error=str(exc))
        return f"failed: {exc}"
    except Exception as exc:
        _finish(export, status=EvidenceExport.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    _finish(export, status=EvidenceExport.Status.DONE, package=result.name, filename=result.filename,
            sha256=result.sha256, size=result.size, manifest_sha256=result.manifest_sha256, counts=result.counts)
    return f"done: {result.sha256}"


def _finish(export: EvidenceExport, **fields: Any) -> None:
    EvidenceExport.objects.filter(pk=export.pk, status=EvidenceExport.Status.RUNNING).update(
        finished_at=timezone.now(), **fields)


# --- reads and hand-over -------------------------------------------------------------------------------------


def _expire_if_stale(export: EvidenceExport) -> EvidenceExport:
    """A build still "running" after the queue's task timeout was killed with its worker: say so (once)."""
    limit = dt.timedelta(seconds=settings.TASK_TIMEOUT_S + 60)
    if export.status == EvidenceExport.Status.RUNNING and export.started_at and \
            timezone.now() - export.started_at > limit:
        EvidenceExport.objects.filter(pk=export.pk, status=EvidenceExport.Status.RUNNING).update(
            status=EvidenceExport.Status.FAILED, finished_at=timezone.now(),
            error="the worker stopped while building the package; export again")
        export.refresh_from_db()
    return export


def export_get_for_user(user: Any, export_id: int) -> EvidenceExport | None:
    """An export is seen by whoever may export its case or alert now (others: None, a 404)."""
    export = EvidenceExport.objects.select_related("requested_by").filter(pk=export_id).first()
    if export is None:
        return None
    export = _expire_if_stale(export)
    if export.kind == EvidenceExport.Kind.CASE:
        allowed = export.case_id is not None and case_get_for_export(user, export.case_id) is not None
    else:
        allowed = export.alert_id is not None and alert_get_for_export(user, export.alert_id) is not None
    return export if allowed else None


def export_list_for(*, case: Case | None = None, alert: Alert | None = None, limit: int = 5
                    ) -> QuerySet[EvidenceExport]:
    """The newest exports of a case or an alert, for its page (the caller has checked the user may export it)."""
    exports = EvidenceExport.objects.select_related("requested_by")
    exports = exports.filter(case=case, kind=EvidenceExport.Kind.CASE) if case is not None else exports.filter(
        alert=alert)
    return exports.order_by("-requested_at", "-id")[:limit]


def export_result(export: EvidenceExport) -> ExportResult:
    if export.status != EvidenceExport.Status.DONE:
        reason = f": {export.error}" if export.error else ""
        raise ExportNotReady(f"the package is not ready (export {export.pk} is {export.status}{reason})")
    path = Path(settings.PRIVATE_MEDIA_ROOT) / export.package
    return ExportResult(name=export.package, path=path, sha256=export.sha256, size=export.size or 0,
                        filename=export.filename, manifest_sha256=export.manifest_sha256, counts=export.counts)


def evidence_export_download(*, actor: Any, export: EvidenceExport, via: str) -> ExportResult:
    """The finished package for a hand-over, audited (``download`` with its SHA-256) on the case or alert."""
    result = export_result(export)
    if not result.path.is_file():
        raise ExportNotReady(f"the package of export {export.pk} is no longer in storage")
    evidence_download_record(actor=actor, result=result, obj=export.subject, via=via)
    return result

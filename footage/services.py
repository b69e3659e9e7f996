"""Write paths for footage and alerts: ingest (store, check, enqueue) and alert review (with its guard against
overwriting someone else's decision), each audited."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from facecase.events import OPERATORS_GROUP, publish
from facecase.files import check_footage, store_private_upload
from facecase.models import Case
from facecase.services import audit_record
from facecase.uploads import upload_errors
from footage.jobs import JobReporter
from footage.models import Alert, Footage, JobLogLine, ReviewLabel

logger = logging.getLogger(__name__)


def footage_ingest(*, actor: Any, case: Case, upload: Any) -> Footage:
    """Store an uploaded image or video as evidence of ``case`` and queue its processing.

    The type is decided by content (Pillow, then OpenCV), never by the file name. On any rejection the
    stored bytes are removed and no row exists; the ``ValidationError`` message says why.
    """
    if case.status != Case.Status.OPEN:
        raise ValidationError(f"case {case.reference} is closed; reopen it to attach footage", code="closed")
    stored = store_private_upload(upload, subdir=f"footage/case-{case.pk}")
    try:
        kind, width, height, content_type = check_footage(stored.path)
        with transaction.atomic():
            footage = Footage(
                case=case, original_name=stored.original_name, sha256=stored.sha256, size=stored.size,
                content_type=content_type, kind=kind, width=width, height=height, uploaded_by=actor,
            )
            footage.original.name = stored.name
            footage.save()
            audit_record(
                actor=actor, verb="upload", obj=footage,
                details={"case": case.reference, "name": stored.original_name, "sha256": stored.sha256,
                         "size": stored.size, "kind": kind},
            )
            transaction.on_commit(lambda: footage_enqueue_safely(footage_id=footage.pk))
    except Exception:
        stored.discard()
        raise
    return footage


def ingest_from_request(request: Any, case: Case) -> Footage:
    """Shared by the API and the web form: turn the uploaded ``file`` field into footage or a clear error
    (``ValidationError`` with code ``too_large`` when the upload limit refused it, ``missing`` when there was none)."""
    upload = request.FILES.get("file")
    if upload is None:
        refused = upload_errors(getattr(request, "_request", request)).get("file")
        if refused:
            raise ValidationError(refused, code="too_large")
        raise ValidationError("no file uploaded (form field 'file')", code="missing")
    return footage_ingest(actor=request.user, case=case, upload=upload)


def footage_enqueue(*, footage_id: int) -> str:
    from django_q.tasks import async_task

    task_id = async_task("footage.tasks.process_footage", footage_id, task_name=f"footage-{footage_id}")
    Footage.objects.filter(pk=footage_id).update(enqueued_at=timezone.now())
    return task_id


def footage_enqueue_safely(*, footage_id: int) -> str | None:
    """Enqueue after commit; if the queue is down the upload still stands (the row is queued) and
    ``footage_recover_jobs`` enqueues it at the next start, so say so in the job log instead of failing."""
    try:
        return footage_enqueue(footage_id=footage_id)
    except Exception as exc:
        logger.exception("could not enqueue footage %s", footage_id)
        footage = Footage.objects.filter(pk=footage_id).first()
        if footage is not None:
            JobReporter(footage).log(
                f"could not reach the queue ({type(exc).__name__}); it will be queued again when the worker "
                "starts", level=JobLogLine.Level.WARNING,
            )
        return None


def footage_requeue(*, actor: Any, footage: Footage, fresh: bool = False, reason: str = "") -> Footage:
    """Put footage back in the queue (analyse again after a failure, or after its worker died). ``fresh``
    forgets the analysis checkpoint; otherwise the analysis resumes where it stopped."""
    with transaction.atomic():
        previous = footage.status
        updates: dict[str, Any] = {
            "status": Footage.Status.QUEUED, "progress": 0, "error": "", "finished_at": None,
            "updated_at": timezone.now(), "claimed_by": "", "heartbeat_at": None,
        }
        if fresh:
            updates["analysis_state"] = {}
        Footage.objects.filter(pk=footage.pk).update(**updates)
        audit_record(actor=actor, verb="requeue", obj=footage,
                     details={"from": previous, "fresh": fresh, "reason": reason})
        JobReporter(footage).log(f"queued again ({reason or 'requested'})")
        transaction.on_commit(lambda: footage_enqueue_safely(footage_id=footage.pk))
    footage.refresh_from_db()
    return footage


def footage_recover_jobs(*, include_processing: bool) -> int:
    """Enqueue every queued row again (a queue without persistence forgets them on restart; a duplicate
    task is harmless because the task claims the row first). With ``include_processing`` (only when no
    worker can be running, as at start-up with the embedded Redis) rows a dead worker left half done are
    put back too, and resume from their checkpoint."""
    queued = list(Footage.objects.filter(status=Footage.Status.QUEUED).values_list("pk", flat=True))
    half_done = list(Footage.objects.filter(status=Footage.Status.PROCESSING)) if include_processing else []
    for footage in half_done:
        footage_requeue(actor=None, footage=footage, reason="the worker stopped during the job")
    for footage_id in queued:
        footage_enqueue_safely(footage_id=footage_id)
    return len(queued) + len(half_done)


def alert_distance(alert: Alert) -> float | None:
    """The embedding distance behind an alert, read from its sighting's ``top_candidates`` entries
    (``{"suspect_id": ..., "distance": ...}``) when the analysis stage recorded one."""
    if alert.sighting is None:
        return None
    for candidate in alert.sighting.top_candidates or []:
        if isinstance(candidate, dict) and candidate.get("suspect_id") == alert.suspect_id:
            distance = candidate.get("distance")
            return float(distance) if distance is not None else None
    return None


class AlertAlreadyReviewed(ValidationError):
    """A second decision on a reviewed alert without an explicit override (HTTP 409 in the API)."""


# decision -> (alert status, calibration label). Dismiss says nothing about identity (bad image, wrong track).
REVIEW_DECISIONS: dict[str, tuple[str, str | None]] = {
    "confirm": (Alert.Status.CONFIRMED, ReviewLabel.Label.SAME),
    "dismiss": (Alert.Status.DISMISSED, None),
    "not_this_person": (Alert.Status.NOT_THIS_PERSON, ReviewLabel.Label.DIFFERENT),
}


def alert_review(*, actor: Any, alert: Alert, decision: str, note: str = "", override: bool = False) -> Alert:
    """Record an operator's decision. The "already reviewed" rule is decided here, under the row lock, so two
    reviewers racing cannot both win: a reviewed alert changes only with ``override`` and a note, and the override
    is audited with the decision it replaces. The alert keeps one calibration label, its latest decision's; the
    history stays in the audit log."""
    if decision not in REVIEW_DECISIONS:
        raise ValidationError(f"unknown decision {decision!r}; choose one of {', '.join(REVIEW_DECISIONS)}",
                              code="invalid")
    status, label = REVIEW_DECISIONS[decision]
    note = note.strip()
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        reviewer = locked.reviewed_by.get_username() if locked.reviewed_by_id else None
        previous = {"status": locked.status, "reviewed_by": reviewer,
                    "reviewed_at": locked.reviewed_at.isoformat() if locked.reviewed_at else None,
                    "note": locked.review_note}
        if locked.status != Alert.Status.NEW:
            if not override:
                raise AlertAlreadyReviewed(
                    f"already reviewed ({locked.get_status_display()}) by {reviewer or 'someone'}; to change the "
                    f"decision, override it with a note saying why", code="already_reviewed")
            if not note:
                raise ValidationError("changing a decision needs a note saying why", code="note_required")
        locked.status = status
        locked.reviewed_by = actor
        locked.reviewed_at = timezone.now()
        locked.review_note = note
        locked.full_clean()
        locked.save()
        ReviewLabel.objects.filter(alert=locked).delete()
        if label is not None:
            ReviewLabel.objects.create(alert=locked, label=label, distance=alert_distance(locked), created_by=actor)
        details: dict[str, Any] = {"from": previous["status"], "to": status, "note": note,
                                   "suspect": locked.suspect_id}
        overridden = previous["status"] != Alert.Status.NEW
        if overridden:
            details.update({"override": True, "previous_decision": previous})
        audit_record(actor=actor, verb="review_override" if overridden else "review", obj=locked, details=details)
        payload = {"id": locked.pk, "status": status, "previous": previous["status"],
                   "reviewed_by": actor.get_username(), "reviewed_at": locked.reviewed_at.isoformat(), "note": note}
        transaction.on_commit(lambda: publish(OPERATORS_GROUP, "alert.reviewed", payload))
    return locked


def alert_confirm(*, actor: Any, alert: Alert, note: str = "", override: bool = False) -> Alert:
    return alert_review(actor=actor, alert=alert, decision="confirm", note=note, override=override)


def alert_dismiss(*, actor: Any, alert: Alert, note: str = "", override: bool = False) -> Alert:
    """Dismiss without saying who it is (bad image, wrong track): no training label is kept."""
    return alert_review(actor=actor, alert=alert, decision="dismiss", note=note, override=override)


def alert_not_this_person(*, actor: Any, alert: Alert, note: str = "", override: bool = False) -> Alert:
    return alert_review(actor=actor, alert=alert, decision="not_this_person", note=note, override=override)


def footage_recover_stale_jobs(*, now: Any = None) -> dict[str, int]:
    """The sweep every worker cluster runs once a minute (footage.tasks.recover_stale_jobs), safe with any number of
    clusters on one database and queue, since every change is a conditional update:

    - a ``processing`` row whose heartbeat is older than ``FACECASE_JOB_STALE_AFTER_S`` lost its worker (killed,
      host gone, database connection lost for good): it is queued again and resumes from its checkpoint, or fails
      once it has been claimed ``FACECASE_JOB_MAX_ATTEMPTS`` times (a job that kills its worker must not loop);
    - a ``queued`` row last sent to the queue longer than ``FACECASE_JOB_RESEND_AFTER_S`` ago is sent again: a
      cluster killed with tasks it had already taken from Redis, or a Redis restarted without persistence, forgot
      it. A duplicate task is harmless: only one claim of a queued row can succeed.
    """
    from django.conf import settings

    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.FACECASE_JOB_STALE_AFTER_S)
    stale = Footage.objects.filter(status=Footage.Status.PROCESSING, heartbeat_at__lt=stale_before)
    requeued = failed = resent = 0
    for footage in stale:
        holder = footage.claimed_by or "unknown worker"
        give_up = footage.attempts >= settings.FACECASE_JOB_MAX_ATTEMPTS
        with transaction.atomic():
            updates: dict[str, Any] = (
                {"status": Footage.Status.FAILED, "finished_at": now,
                 "error": f"its worker stopped during the job {footage.attempts} times; not retried again"}
                if give_up else {"status": Footage.Status.QUEUED, "progress": 0, "error": ""}
            )
            taken = Footage.objects.filter(
                pk=footage.pk, status=Footage.Status.PROCESSING, heartbeat_at__lt=stale_before,
                claimed_by=footage.claimed_by,
            ).update(claimed_by="", heartbeat_at=None, updated_at=now, **updates)
            if not taken:
                continue  # its worker spoke up, or another sweep took it first
            reason = f"no heartbeat from {holder} since {footage.heartbeat_at:%H:%M:%S}"
            audit_record(actor=None, verb="process_failed" if give_up else "requeue", obj=footage,
                         details={"from": Footage.Status.PROCESSING, "reason": reason, "attempts": footage.attempts})
            reporter = JobReporter(footage)
            if give_up:
                reporter.log(f"failed: {updates['error']} ({reason})", level=JobLogLine.Level.ERROR)
                failed += 1
            else:
                reporter.log(f"queued again: {reason}", level=JobLogLine.Level.WARNING)
                transaction.on_commit(lambda pk=footage.pk: footage_enqueue_safely(footage_id=pk))
                requeued += 1
    resend_before = now - timedelta(seconds=settings.FACECASE_JOB_RESEND_AFTER_S)
    forgotten = Footage.objects.filter(status=Footage.Status.QUEUED, enqueued_at__lt=resend_before)
    for footage_id in forgotten.values_list("pk", flat=True):
        if footage_enqueue_safely(footage_id=footage_id) is not None:
            resent += 1
    if requeued or failed or resent:
        logger.warning("stale job sweep: %d requeued, %d failed, %d re-sent", requeued, failed, resent)
    return {"requeued": requeued, "failed": failed, "resent": resent}

"""django-q2 tasks. Thin: claim the row with a conditional update, run the pipeline, record the outcome."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from facecase.services import audit_record
from footage.jobs import JobReporter, ProcessingError
from footage.models import Footage, JobLogLine
from footage.processing import run_pipeline

logger = logging.getLogger(__name__)


def process_footage(footage_id: int) -> str:
    """Process one footage row. Only a ``queued`` row is claimed, so a second run (or a second worker)
    changes nothing and a task for footage already done is a no-op. Returns the final status."""
    claimed = Footage.objects.filter(pk=footage_id, status=Footage.Status.QUEUED).update(
        status=Footage.Status.PROCESSING, started_at=timezone.now(), updated_at=timezone.now(), progress=0, error=""
    )
    if claimed != 1:
        current = Footage.objects.filter(pk=footage_id).values_list("status", flat=True).first()
        logger.info("footage %s not claimed (status %s): nothing to do", footage_id, current)
        return f"skipped:{current}"
    footage = Footage.objects.get(pk=footage_id)
    reporter = JobReporter(footage)
    reporter.status(Footage.Status.PROCESSING)
    reporter.log(f"processing {footage.original_name} ({footage.size} bytes)")
    try:
        run_pipeline(footage, reporter)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, ProcessingError) else f"{type(exc).__name__}: {exc}"
        logger.exception("footage %s failed", footage_id)
        reporter.log(f"failed: {reason}", level=JobLogLine.Level.ERROR)
        # Status and audit land together, so whoever sees the final status also finds its audit event.
        with transaction.atomic():
            Footage.objects.filter(pk=footage_id).update(
                status=Footage.Status.FAILED, error=reason, finished_at=timezone.now(), updated_at=timezone.now()
            )
            audit_record(actor=None, verb="process_failed", obj=footage, details={"error": reason})
        reporter.status(Footage.Status.FAILED, error=reason)
        return Footage.Status.FAILED
    reporter.progress(100)
    reporter.log("done")
    with transaction.atomic():
        Footage.objects.filter(pk=footage_id).update(
            status=Footage.Status.DONE, progress=100, finished_at=timezone.now(), updated_at=timezone.now()
        )
        audit_record(actor=None, verb="processed", obj=footage, details={"frames": footage.frame_count})
    reporter.status(Footage.Status.DONE)
    return Footage.Status.DONE

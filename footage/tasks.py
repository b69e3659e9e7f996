"""django-q2 tasks. Thin: claim the row with a conditional update, run the pipeline, record the outcome.

A claimed job is a lease: the worker writes a heartbeat while it runs, and finishes the row only while it still
holds it. The sweep (``recover_stale_jobs``, scheduled once a minute in every cluster) queues again the jobs whose
worker died, so two clusters on one database and queue process every job exactly once even if one is killed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from facecase.services import audit_record
from facecase.upload_messages import analysis_failure_message
from footage.jobs import DATABASE_GONE, JobReporter, ProcessingError
from footage.models import Footage, JobLogLine
from footage.processing import run_pipeline

logger = logging.getLogger(__name__)



def worker_identity() -> str:
    """Who holds a job: host (``FACECASE_HOST_NAME``, else the machine's name) and worker process id."""
    return f"{os.environ.get('FACECASE_HOST_NAME') or socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    """While the job runs, a thread stamps ``heartbeat_at`` on the row this worker holds (own connection)."""

    def __init__(self, footage_id: int, holder: str) -> None:
        self.footage_id, self.holder = footage_id, holder
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{footage_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        # Run inside a caller's open transaction (a shell, a test), the claim is not visible to anyone else, and a
        # second connection would only wait on that transaction's lock: there is no lease to keep.
        if not connection.in_atomic_block:
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stop.wait(settings.FACECASE_JOB_HEARTBEAT_S):
                try:
                    held = Footage.objects.filter(
                        pk=self.footage_id, status=Footage.Status.PROCESSING, claimed_by=self.holder
                    ).update(heartbeat_at=timezone.now())
                    if not held:
                        logger.warning("footage %s: this worker no longer holds the job", self.footage_id)
                except DATABASE_GONE:
                    logger.warning("footage %s: heartbeat could not reach the database", self.footage_id)
                    connection.close()  # this thread's connection: the next beat opens a new one
        finally:
            connection.close()


def process_footage(footage_id: int) -> str:
    """Process one footage row. Only a ``queued`` row is claimed, so a second run (or a second worker)
    changes nothing and a task for footage already done is a no-op. Returns the final status."""
    holder = worker_identity()
    now = timezone.now()
    claimed = Footage.objects.filter(pk=footage_id, status=Footage.Status.QUEUED).update(
        status=Footage.Status.PROCESSING, started_at=now, updated_at=now, progress=0, error="",
        claimed_by=holder, heartbeat_at=now, attempts=F("attempts") + 1,
    )
    if claimed != 1:
        current = Footage.objects.filter(pk=footage_id).values_list("status", flat=True).first()
        logger.info("footage %s not claimed (status %s): nothing to do", footage_id, current)
        return f"skipped:{current}"
    footage = Footage.objects.get(pk=footage_id)
    with Heartbeat(footage_id, holder):
        try:
            return _run_claimed(footage, holder)
        except DATABASE_GONE as exc:
            return _database_gone(footage, holder, exc)


def _run_claimed(footage: Footage, holder: str) -> str:
    footage_id = footage.pk
    reporter = JobReporter(footage)
    reporter.status(Footage.Status.PROCESSING)
    reporter.log(f"processing {footage.original_name} ({footage.size} bytes) on {holder}")
    held = Footage.objects.filter(pk=footage_id, status=Footage.Status.PROCESSING, claimed_by=holder)
    try:
        run_pipeline(footage, reporter)
    except DATABASE_GONE:
        raise
    except Exception as exc:
        reason = str(exc) if isinstance(exc, ProcessingError) else f"{type(exc).__name__}: {exc}"
        logger.exception("footage %s failed", footage_id)
        reporter.log(f"failed: {reason}", level=JobLogLine.Level.ERROR)
        # Status and audit land together, so whoever sees the final status also finds its audit event.
        with transaction.atomic():
            if held.update(status=Footage.Status.FAILED, error=reason, finished_at=timezone.now(),
                           updated_at=timezone.now(), claimed_by="", heartbeat_at=None):
                audit_record(actor=None, verb="process_failed", obj=footage, details={"error": reason})
        # The page's live push says what the user can do; the job log above and footage.error keep the reason.
        reporter.status(Footage.Status.FAILED, error=analysis_failure_message(reason))
        return Footage.Status.FAILED
    reporter.progress(100)
    reporter.log("done")
    with transaction.atomic():
        if not held.update(status=Footage.Status.DONE, progress=100, finished_at=timezone.now(),
                           updated_at=timezone.now(), claimed_by="", heartbeat_at=None):
            logger.warning("footage %s finished after its lease was taken back: left to its new holder", footage_id)
            return "lease-lost"
        audit_record(actor=None, verb="processed", obj=footage, details={"frames": footage.frame_count})
    reporter.status(Footage.Status.DONE)
    return Footage.Status.DONE


def _database_gone(footage: Footage, holder: str, exc: Exception) -> str:
    """The database connection broke mid-job. Every sighting is written in one transaction with its files
    (footage/analysis.py), so nothing half-written is left; the job goes back to the queue and resumes from its
    checkpoint. If the database is still unreachable, the row stays ``processing`` and the sweep takes it back
    once its heartbeat is stale."""
    logger.warning("footage %s: database connection lost (%s: %s); queueing it again", footage.pk,
                   type(exc).__name__, exc)
    connection.close()
    from footage.services import footage_enqueue_safely

    try:
        with transaction.atomic():
            taken = Footage.objects.filter(pk=footage.pk, status=Footage.Status.PROCESSING, claimed_by=holder).update(
                status=Footage.Status.QUEUED, progress=0, claimed_by="", heartbeat_at=None, updated_at=timezone.now()
            )
            if taken:
                audit_record(actor=None, verb="requeue", obj=footage,
                             details={"from": Footage.Status.PROCESSING, "reason": "database connection lost"})
                JobReporter(footage).log(f"database connection lost ({type(exc).__name__}): queued again, resumes "
                                         "from its checkpoint", level=JobLogLine.Level.WARNING)
                transaction.on_commit(lambda: footage_enqueue_safely(footage_id=footage.pk))
    except DATABASE_GONE:
        connection.close()
        logger.warning("footage %s: database still unreachable; the stale-job sweep will queue it again", footage.pk)
        return "database-gone"
    return Footage.Status.QUEUED


def recover_stale_jobs() -> dict[str, int]:
    """Scheduled once a minute in every cluster (migration footage 0005)."""
    from footage.services import footage_recover_stale_jobs

    return footage_recover_stale_jobs()

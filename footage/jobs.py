"""The footage job's reporter (ordered log lines and progress, pushed live to the case's browsers) and the error
whose message the analyst sees when a job fails."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from django.db.models import Max
from django.utils import timezone

from facecase.events import case_group, publish
from footage.models import Footage, JobLogLine

# A lost or broken database connection: the job did not fail, the database went away under it (footage.tasks puts
# the job back in the queue to resume from its checkpoint).
DATABASE_GONE = (OperationalError, InterfaceError)


class ProcessingError(Exception):
    """A reason the footage cannot be processed; its message is shown to the analyst as is."""


class JobReporter:
    """Writes ordered log lines and progress for one footage job and pushes both to ``case-<id>``."""

    def __init__(self, footage: Footage) -> None:
        self.footage = footage
        self.group = case_group(footage.case_id)
        self._seq = JobLogLine.objects.filter(footage=footage).aggregate(last=Max("seq"))["last"] or 0
        self._progress = footage.progress

    def log(self, message: str, level: str = JobLogLine.Level.INFO) -> JobLogLine:
        self._seq += 1
        line = JobLogLine.objects.create(footage=self.footage, seq=self._seq, level=level, message=message)
        publish(self.group, "footage.log", {
            "footage_id": self.footage.pk, "seq": line.seq, "level": line.level, "message": line.message,
            "created_at": line.created_at.isoformat(),
        })
        return line

    def progress(self, percent: float) -> None:
        value = max(0, min(100, int(percent)))
        if value == self._progress:
            return  # only whole-percent changes reach the database and the browser
        self._progress = value
        Footage.objects.filter(pk=self.footage.pk).update(progress=value, updated_at=timezone.now())
        self.footage.progress = value
        publish(self.group, "footage.progress", {"footage_id": self.footage.pk, "progress": value})

    def status(self, status: str, error: str = "") -> None:
        publish(self.group, "footage.status", {
            "footage_id": self.footage.pk, "status": status, "error": error, "progress": self._progress,
        })

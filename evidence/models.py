"""An evidence export requested from a page or the API: built by the queue worker, then handed out on request."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class EvidenceExport(models.Model):
    """One request for a signed package (a case or one alert) and how it went.

    The web and API requests only create this row and queue ``evidence.tasks.evidence_export_task``; the worker
    claims it (queued -> running with a conditional update), builds the package and records its name and SHA-256
    (done) or why it was refused (failed). Downloads read the finished package, permission-checked and audited.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        CASE = "case", "Case"
        ALERT = "alert", "Alert"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    case = models.ForeignKey("facecase.Case", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    alert = models.ForeignKey("footage.Alert", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    alerts = models.CharField(max_length=16, blank=True, help_text="for a case: confirmed or all alerts")
    via = models.CharField(max_length=32)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    package = models.CharField(max_length=500, blank=True, help_text="the zip's name in private storage")
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [models.CheckConstraint(
            condition=(models.Q(kind="case", case__isnull=False, alert__isnull=True)
                       | models.Q(kind="alert", alert__isnull=False)),
            name="evidence_export_has_its_object")]

    def __str__(self) -> str:
        return f"evidence export {self.pk} ({self.kind}, {self.status})"

    @property
    def subject(self) -> models.Model | None:
        return self.case if self.kind == self.Kind.CASE else self.alert

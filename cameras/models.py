"""Live cameras: the source, how it is analysed, which case its sightings attach to, who reads it (lease) and how
it is doing (health). The runner (``cameras/runner.py``) writes the lease and health fields with conditional
updates only, so an admin's edit of the other fields is never overwritten."""

from __future__ import annotations

from django.db import models

from cameras.sources import mask_url, source_kind
from facecase.models import Case


class Camera(models.Model):
    class Detector(models.TextChoices):
        HAAR = "haar", "Haar (fast)"
        MTCNN = "mtcnn", "MTCNN (slower, finds more faces)"

    class Health(models.TextChoices):
        IDLE = "idle", "Not running"
        CONNECTING = "connecting", "Connecting"
        LIVE = "live", "Live"
        STALLED = "stalled", "Stalled"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=200, unique=True)
    location = models.CharField(max_length=200, blank=True)
    source_url = models.CharField(
        max_length=1000,
        help_text="rtsp://, http(s):// MJPEG, a device such as /dev/video0, or a video file played in a loop",
    )
    enabled = models.BooleanField(default=True)
    analysis_fps = models.FloatField(default=5.0, help_text="frames analysed per second (the latest frame each time)")
    detector = models.CharField(max_length=8, choices=Detector.choices, default=Detector.HAAR)
    min_face_px = models.PositiveIntegerField(default=20, help_text="smaller faces are tracked but not matched")
    case = models.ForeignKey(Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="cameras")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Lease: which runner reads this camera, until when (renewed by its heartbeat, taken over when stale).
    runner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Health, written by the runner that holds the lease.
    health = models.CharField(max_length=12, choices=Health.choices, default=Health.IDLE)
    health_reason = models.CharField(max_length=500, blank=True, default="")
    fps_received = models.FloatField(default=0.0)
    fps_analysed = models.FloatField(default=0.0)
    lag_s = models.FloatField(null=True, blank=True, help_text="capture of the latest analysed frame to its analysis")
    last_frame_at = models.DateTimeField(null=True, blank=True)
    health_updated_at = models.DateTimeField(null=True, blank=True)
    frame_width = models.PositiveIntegerField(null=True, blank=True)
    frame_height = models.PositiveIntegerField(null=True, blank=True)
    # Faces on the latest analysed frame: [{"box": [x, y, w, h], "label": str|None}], for the single-camera view.
    last_boxes = models.JSONField(default=list, blank=True)
    next_track_id = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_url(self) -> str:
        return mask_url(self.source_url)

    @property
    def source_kind(self) -> str:
        return source_kind(self.source_url)

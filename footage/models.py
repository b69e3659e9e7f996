"""Footage attached to cases, its processing job log, the face sightings found in it, and match alerts."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from facecase.models import Case
from facecase.storage import private_storage


def footage_original_path(instance: Footage, filename: str) -> str:
    return f"footage/case-{instance.case_id}/{filename}"


class Footage(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="footage")
    original = models.FileField(storage=private_storage, upload_to=footage_original_path, max_length=500)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    frame_count = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="seconds")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Analysis resume point (footage/analysis.py): checkpoint frame, registry version and settings of the run.
    analysis_state = models.JSONField(default=dict, blank=True)
    # The job's lease (footage/tasks.py): which worker holds it and when that worker last said it is alive. A row
    # left "processing" with an old heartbeat belongs to a dead worker or host and is queued again.
    claimed_by = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times a worker claimed this job")
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="last time a task was sent to the queue")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "footage"

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"


class JobLogLine(models.Model):
    class Level(models.TextChoices):
        DEBUG = "debug", "Debug"
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    footage = models.ForeignKey(Footage, on_delete=models.CASCADE, related_name="log_lines")
    seq = models.PositiveIntegerField()
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["footage_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["footage", "seq"], name="unique_log_seq")]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message}"


def sighting_media_path(instance: Sighting, filename: str) -> str:
    return f"{instance.media_folder}/{filename}"


def alert_clip_path(instance: Alert, filename: str) -> str:
    return f"cameras/camera-{instance.camera_id}/alerts/{filename}"


class Sighting(models.Model):
    """One tracked face in one piece of footage or one live camera, with the evidence chain from raw crop to match
    scores. Exactly one of ``footage`` and ``camera`` is set."""

    footage = models.ForeignKey(Footage, on_delete=models.CASCADE, null=True, blank=True, related_name="sightings")
    camera = models.ForeignKey("cameras.Camera", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="sightings")
    track_id = models.PositiveIntegerField()
    first_frame = models.PositiveIntegerField()
    last_frame = models.PositiveIntegerField()
    first_ts = models.FloatField(help_text="seconds from the start (cameras: from the reader's start)")
    last_ts = models.FloatField(help_text="seconds from the start (cameras: from the reader's start)")
    # Cameras: wall-clock capture times of the track's first and latest frames.
    captured_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    box = models.JSONField(help_text="(x, y, w, h) of the face in the best frame")
    best_frame_index = models.PositiveIntegerField()
    frame = models.FileField(storage=private_storage, upload_to=sighting_media_path, max_length=500, blank=True)
    raw_crop = models.FileField(storage=private_storage, upload_to=sighting_media_path, max_length=500, blank=True)
    raw_crop_sha256 = models.CharField(max_length=64, blank=True)
    enhanced_crop = models.FileField(
        storage=private_storage, upload_to=sighting_media_path, max_length=500, blank=True
    )
    enhanced_crop_sha256 = models.CharField(max_length=64, blank=True)
    enhancement_records = models.JSONField(default=list, blank=True)
    # The registered, quality-weighted average of the track's aligned face chips: a computed image (not a
    # photograph) that the matcher embedded as one more view of the track, and how it was made (frames, shares,
    # registration shifts, method; enhancement.analysis.results.AveragedChip). Empty when no average was taken.
    averaged_chip = models.FileField(
        storage=private_storage, upload_to=sighting_media_path, max_length=500, blank=True
    )
    averaged_chip_sha256 = models.CharField(max_length=64, blank=True)
    averaged_chip_record = models.JSONField(default=dict, blank=True)
    ai_enhanced = models.BooleanField(default=False)
    raw_scores = models.JSONField(default=list, blank=True)
    enhanced_scores = models.JSONField(default=list, blank=True)
    # The degradation-robust student embedder's candidates, and which probe embedder decided ("student" or
    # "teacher", dlib's network); the gallery is always dlib's embeddings of the enrolled photos.
    student_scores = models.JSONField(default=list, blank=True)
    probe_embedder = models.CharField(max_length=16, default="teacher", blank=True)
    top_candidates = models.JSONField(default=list, blank=True)
    best_suspect = models.ForeignKey(
        "suspects.Suspect", on_delete=models.SET_NULL, null=True, blank=True, related_name="sightings"
    )
    best_score = models.FloatField(null=True, blank=True)
    registry_version = models.ForeignKey(
        "suspects.RegistryVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="sightings"
    )
    track_frames = models.JSONField(default=list, blank=True)
    # Weighted mean descriptor of the track's best crops (float32 bytes): remembers "not this person" verdicts.
    embedding = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["footage_id", "track_id"]
        constraints = [
            models.UniqueConstraint(fields=["footage", "track_id"], name="unique_sighting_track"),
            models.UniqueConstraint(fields=["camera", "track_id"], name="unique_camera_sighting_track"),
            models.CheckConstraint(condition=models.Q(footage__isnull=True) ^ models.Q(camera__isnull=True),
                                   name="sighting_footage_xor_camera"),
        ]

    def __str__(self) -> str:
        if self.camera_id:
            return f"track {self.track_id} on camera {self.camera_id}"
        return f"track {self.track_id} in footage {self.footage_id}"

    @property
    def media_folder(self) -> str:
        if self.camera_id:
            return f"sightings/camera-{self.camera_id}/track-{self.track_id}"
        return f"sightings/footage-{self.footage_id}/track-{self.track_id}"

    @property
    def source_name(self) -> str:
        return self.camera.name if self.camera_id else self.footage.original_name


class Alert(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"
        NOT_THIS_PERSON = "not_this_person", "Not this person"

    footage = models.ForeignKey(Footage, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts")
    camera = models.ForeignKey("cameras.Camera", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="alerts")
    camera_name = models.CharField(max_length=200, blank=True)
    # Cameras: wall-clock capture time of the frame that first matched, and the evidence clip around it (a few
    # seconds before to a few after, at the analysis rate) with its sha256 and the wall-clock times it spans.
    captured_at = models.DateTimeField(null=True, blank=True)
    clip = models.FileField(storage=private_storage, upload_to=alert_clip_path, max_length=500, blank=True)
    clip_sha256 = models.CharField(max_length=64, blank=True)
    clip_started_at = models.DateTimeField(null=True, blank=True)
    clip_ended_at = models.DateTimeField(null=True, blank=True)
    sighting = models.ForeignKey(Sighting, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts")
    # PROTECT: alerts are evidence; a suspect with alerts is marked cleared, never deleted.
    suspect = models.ForeignKey("suspects.Suspect", on_delete=models.PROTECT, related_name="alerts")
    score = models.FloatField()
    raw_score = models.FloatField(null=True, blank=True)
    holds_on_raw = models.BooleanField(default=False)
    # Which probe embedder matched ("student" or "teacher") and dlib's own score on the enhanced crops.
    embedder = models.CharField(max_length=16, default="teacher")
    teacher_score = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW, db_index=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    registry_version = models.ForeignKey(
        "suspects.RegistryVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["sighting", "suspect"], name="unique_alert_per_sighting")]

    def __str__(self) -> str:
        return f"alert {self.pk}: {self.suspect} ({self.status})"


class ReviewLabel(models.Model):
    """A reviewer's verdict kept as a labelled pair, for later threshold calibration."""

    class Label(models.TextChoices):
        SAME = "same", "Same person"
        DIFFERENT = "different", "Different person"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="labels")
    label = models.CharField(max_length=16, choices=Label.choices)
    distance = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.label} for alert {self.alert_id}"

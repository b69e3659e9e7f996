"""The suspect registry: people, their reference photos, and versions of the gallery built from them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from facecase.storage import private_storage


class Suspect(models.Model):
    class Status(models.TextChoices):
        WANTED = "wanted", "Wanted"
        PERSON_OF_INTEREST = "person_of_interest", "Person of interest"
        MISSING = "missing", "Missing"
        CLEARED = "cleared", "Cleared"

    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PERSON_OF_INTEREST)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


def suspect_photo_path(instance: SuspectPhoto, filename: str) -> str:
    return f"suspects/{instance.suspect_id}/{filename}"


def suspect_crop_path(instance: SuspectPhoto, filename: str) -> str:
    return f"suspects/{instance.suspect_id}/crops/{filename}"


class SuspectPhoto(models.Model):
    suspect = models.ForeignKey(Suspect, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(storage=private_storage, upload_to=suspect_photo_path, max_length=500)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Filled by the analysis stage (reindex): the face found in the photo and its embedding.
    embedding = models.BinaryField(null=True, blank=True)
    face_box = models.JSONField(null=True, blank=True)
    crop = models.FileField(storage=private_storage, upload_to=suspect_crop_path, max_length=500, blank=True)
    embedder = models.CharField(max_length=100, blank=True)
    index_error = models.TextField(blank=True)

    class Meta:
        ordering = ["suspect_id", "id"]
        constraints = [models.UniqueConstraint(fields=["suspect", "sha256"], name="unique_photo_per_suspect")]

    def __str__(self) -> str:
        return f"photo {self.pk} of {self.suspect}"


class RegistryVersion(models.Model):
    """One build of the searchable gallery; alerts point at the version that produced them."""

    class Status(models.TextChoices):
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    number = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)
    gallery_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BUILDING)
    photo_count = models.PositiveIntegerField(default=0)
    suspect_count = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"registry v{self.number} ({self.status})"


class RegistryRebuild(models.Model):
    """One request to rebuild the gallery (from a registry change, an admin, or the command line) and how it went.

    Rows make the background rebuild visible: the registry page shows the newest one, so a rebuild that could not
    be queued, or failed in the worker, is seen by admins and not only in a log.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    reason = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    version = models.ForeignKey(RegistryVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"registry rebuild {self.pk} ({self.status})"

"""Retrospective face search (the probe kept as evidence), sightings attached to cases, and unknown-person profiles.

Descriptors live on ``footage.Sighting.embedding``; the nearest-neighbour index over them is beside the database
(``facesearch.index``), never in it.
"""

from __future__ import annotations

import os
import re

from django.conf import settings
from django.db import models

from facecase.models import Case
from facecase.storage import private_storage
from footage.models import Sighting


def probe_path(instance: FaceSearch, filename: str) -> str:
    suffix = os.path.splitext(filename)[1].lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".img"
    return f"searches/{instance.probe_sha256[:2]}/{instance.probe_sha256}{suffix}"


class FaceSearch(models.Model):
    """One search by face: who asked, with which probe (an uploaded photo kept with its sha256, or a sighting),
    which filters, and how many visible results it gave."""

    probe = models.FileField(storage=private_storage, upload_to=probe_path, max_length=500, blank=True)
    probe_name = models.CharField(max_length=255, blank=True)
    probe_sha256 = models.CharField(max_length=64, blank=True)
    probe_box = models.JSONField(null=True, blank=True, help_text="(x, y, w, h) of the face searched for")
    sighting = models.ForeignKey(Sighting, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    embedding = models.BinaryField()
    filters = models.JSONField(default=dict, blank=True)
    threshold = models.FloatField(help_text="the distance at which a result scores 0.5, as alerts")
    result_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "face searches"

    def __str__(self) -> str:
        return f"face search {self.pk} by {self.created_by_id}"


class CaseSighting(models.Model):
    """A sighting (from any footage or camera) attached to a case by an analyst: members of the case may see it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attached_sightings")
    sighting = models.ForeignKey(Sighting, on_delete=models.CASCADE, related_name="case_attachments")
    search = models.ForeignKey(FaceSearch, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at"]
        constraints = [models.UniqueConstraint(fields=["case", "sighting"], name="unique_case_sighting")]

    def __str__(self) -> str:
        return f"sighting {self.sighting_id} in case {self.case_id}"


class Profile(models.Model):
    """A persistent unknown person: the sightings that matched no suspect and look like one face."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MERGED = "merged", "Merged"
        PROMOTED = "promoted", "Promoted to suspect"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    suspect = models.ForeignKey("suspects.Suspect", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="profiles")
    # Set when an analyst split or merged it: the consolidation job then never merges it on its own.
    curated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"Unknown #{self.pk}"


class ProfileMember(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="members")
    sighting = models.OneToOneField(Sighting, on_delete=models.CASCADE, related_name="profile_member")
    distance = models.FloatField(null=True, blank=True, help_text="to the nearest member when it joined")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sighting_id"]

    def __str__(self) -> str:
        return f"sighting {self.sighting_id} in profile {self.profile_id}"


class DescriptorChange(models.Model):
    """A stored sighting's descriptor was replaced (a live camera track whose later crops were better). Written in the
    transaction that changed it; every process's index replays the changes it has not seen (``facesearch.index``), so
    the vector is replaced there too, never added twice. Rows older than a day are pruned by the consolidation job
    (the snapshot it writes holds them)."""

    sighting = models.ForeignKey(Sighting, on_delete=models.CASCADE, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"descriptor of sighting {self.sighting_id} changed"

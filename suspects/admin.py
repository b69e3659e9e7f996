from django.contrib import admin

from facecase.admin import ReadOnlyAdmin, ReadOnlyInline
from suspects.models import RegistryRebuild, RegistryVersion, Suspect, SuspectPhoto


class SuspectPhotoInline(ReadOnlyInline):
    model = SuspectPhoto
    fields = ["original_name", "sha256", "embedder", "face_box", "created_at"]


@admin.register(Suspect)
class SuspectAdmin(ReadOnlyAdmin):
    """Suspects are enrolled and edited on the registry pages (audited, with the face check)."""

    list_display = ["name", "external_id", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "external_id"]
    inlines = [SuspectPhotoInline]


@admin.register(RegistryVersion)
class RegistryVersionAdmin(ReadOnlyAdmin):
    list_display = ["number", "status", "photo_count", "suspect_count", "created_at"]


@admin.register(RegistryRebuild)
class RegistryRebuildAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "reason", "requested_at", "finished_at", "version"]

from django.contrib import admin

from suspects.models import RegistryVersion, Suspect, SuspectPhoto


class SuspectPhotoInline(admin.TabularInline):
    model = SuspectPhoto
    extra = 0
    fields = ["original_name", "sha256", "embedder", "face_box", "created_at"]
    readonly_fields = fields


@admin.register(Suspect)
class SuspectAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "external_id"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    inlines = [SuspectPhotoInline]


@admin.register(RegistryVersion)
class RegistryVersionAdmin(admin.ModelAdmin):
    list_display = ["number", "status", "photo_count", "suspect_count", "created_at"]
    readonly_fields = [
        "number", "created_at", "reason", "gallery_sha256", "status",
        "photo_count", "suspect_count", "details",
    ]

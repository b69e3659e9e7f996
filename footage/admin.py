from django.contrib import admin

from footage.models import Alert, Footage, JobLogLine, ReviewLabel, Sighting


class JobLogLineInline(admin.TabularInline):
    model = JobLogLine
    extra = 0
    fields = ["seq", "level", "message", "created_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Footage)
class FootageAdmin(admin.ModelAdmin):
    list_display = ["original_name", "case", "kind", "status", "progress", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["original_name", "sha256", "case__reference"]
    # Originals and their metadata are evidence: shown, never edited here.
    readonly_fields = [
        "case", "original", "original_name", "sha256", "size", "content_type", "kind", "width", "height", "fps",
        "frame_count", "duration", "status", "progress", "error", "uploaded_by", "created_at", "updated_at",
        "started_at", "finished_at",
    ]
    inlines = [JobLogLineInline]


@admin.register(Sighting)
class SightingAdmin(admin.ModelAdmin):
    list_display = ["footage", "track_id", "best_suspect", "best_score", "ai_enhanced"]
    raw_id_fields = ["footage", "best_suspect", "registry_version"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["id", "suspect", "score", "status", "footage", "camera_name", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["footage", "sighting", "suspect", "registry_version", "reviewed_by"]


@admin.register(ReviewLabel)
class ReviewLabelAdmin(admin.ModelAdmin):
    list_display = ["alert", "label", "distance", "created_at"]
    raw_id_fields = ["alert"]

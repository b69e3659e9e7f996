from django.contrib import admin

from facecase.admin import ReadOnlyAdmin, ReadOnlyInline
from footage.models import Alert, Footage, JobLogLine, ReviewLabel, Sighting


class JobLogLineInline(ReadOnlyInline):
    model = JobLogLine
    fields = ["seq", "level", "message", "created_at"]


@admin.register(Footage)
class FootageAdmin(ReadOnlyAdmin):
    """Originals and their metadata are evidence: shown, never edited here (requeue from the footage page)."""

    list_display = ["original_name", "case", "kind", "status", "progress", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["original_name", "sha256", "case__reference"]
    inlines = [JobLogLineInline]


@admin.register(Sighting)
class SightingAdmin(ReadOnlyAdmin):
    list_display = ["footage", "track_id", "best_suspect", "best_score", "ai_enhanced"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Alerts are reviewed on the alert pages, where the review rule and its audit apply."""

    list_display = ["id", "suspect", "score", "status", "footage", "camera_name", "created_at"]
    list_filter = ["status"]


@admin.register(ReviewLabel)
class ReviewLabelAdmin(ReadOnlyAdmin):
    list_display = ["alert", "label", "distance", "created_at"]

"""REST API for sightings: one tracked face in one piece of footage, with its evidence chain.

The list filters by case, footage, camera, suspect, time range and matched/unmatched; the detail adds the track's
frames (frame number, time, box, crop, quality, step records), the enhancement step records of the best crop and
the candidates. Images are links to the permission-checked views (``/media/sighting/<id>/<field>/`` for the full
frame, the raw and enhanced crops and the averaged chip; ``/sightings/<id>/track/<n>/`` for the track's crops),
never inline.

The JSON columns are written by ``footage.analysis``; the serializers below give each one a declared shape and
fill what an older row lacks with null, so every response matches the schema.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from facecase.api_fields import MAX_ID, NO_NUL, BoundDateTimeField, StrictIntegerField
from facecase.permissions import MethodPermission
from footage.api import query_params
from footage.models import Sighting
from footage.selectors import sighting_list_for_user


class CandidateOutput(serializers.Serializer):
    suspect_id = serializers.IntegerField(allow_null=True, default=None, help_text="null: not in the registry now")
    label = serializers.CharField(help_text="the gallery label (the suspect's id when enrolled)")
    name = serializers.CharField(allow_null=True, default=None)
    distance = serializers.FloatField()
    score = serializers.FloatField()
    votes = serializers.FloatField(
        allow_null=True, default=None, min_value=0.0, max_value=1.0,
        help_text="share of the track's quality weight whose crops ranked this candidate in their own top list (0-1)")
    raw_distance = serializers.FloatField(allow_null=True, default=None, help_text="same candidate on the raw crop")
    raw_score = serializers.FloatField(allow_null=True, default=None)
    view = serializers.ChoiceField(
        choices=["crops", "averaged chip"], allow_null=True, default=None,
        help_text="which view of the track gave the distance: its best crops fused, or the registered average of "
                  "their aligned chips, which may only lower the crops' own nearest candidate, by a bounded amount "
                  "(null: recorded before the averaged chip existed)")


class StepRecordOutput(serializers.Serializer):
    step = serializers.CharField()
    params = serializers.DictField()
    input_sha256 = serializers.CharField()
    output_sha256 = serializers.CharField()
    elapsed_ms = serializers.FloatField()
    ai_enhanced = serializers.BooleanField(default=False)
    weights = serializers.CharField(allow_null=True, default=None)
    weights_sha256 = serializers.CharField(allow_null=True, default=None)
    versions = serializers.DictField(child=serializers.CharField(), default=dict)
    notes = serializers.CharField(default="", allow_blank=True)


class AveragedChipOutput(serializers.Serializer):
    url = serializers.CharField(help_text="the averaged chip (PNG), permission-checked like the crops")
    sha256 = serializers.CharField(help_text="SHA-256 of the stored PNG file")
    frames = serializers.ListField(child=serializers.IntegerField(),
                                   help_text="the frames averaged, best first; the first is the registration reference")
    shares = serializers.ListField(child=serializers.FloatField(), help_text="each frame's weight in the mean (sum 1)")
    shifts_px = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()),
                                      help_text="each frame's registration translation (dx, dy) in chip pixels")
    chip_px = serializers.IntegerField(allow_null=True, default=None, help_text="side of the aligned chip")
    embedder = serializers.CharField(allow_null=True, default=None, help_text="the embedder that described it")
    method = serializers.CharField(default="", allow_blank=True)


class TrackFrameOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="position in the track (n in /sightings/<id>/track/<n>/)")
    frame = serializers.IntegerField()
    ts = serializers.FloatField(help_text="seconds from the start of the footage")
    box = serializers.ListField(child=serializers.IntegerField(), help_text="(x, y, w, h) of the face")
    crop_url = serializers.CharField(allow_null=True, default=None, help_text="null: no crop kept for this frame")
    crop_sha256 = serializers.CharField(allow_null=True, default=None)
    rank = serializers.IntegerField(allow_null=True, default=None, help_text="0 = the best crop of the track")
    weight = serializers.FloatField(allow_null=True, default=None)
    quality = serializers.DictField(allow_null=True, default=None, help_text="measures of the crop's quality")
    records = StepRecordOutput(many=True, default=list, help_text="enhancement steps applied to this crop")


def _media_url(sighting: Sighting, field: str) -> str | None:
    if not getattr(sighting, field):
        return None
    return reverse("media", kwargs={"kind": "sighting", "pk": sighting.pk, "field": field})


class SightingOutput(serializers.ModelSerializer):
    case = serializers.SerializerMethodField(help_text="the case of its footage, or of its camera (null: none)")
    box = serializers.ListField(child=serializers.IntegerField(), read_only=True,
                                help_text="(x, y, w, h) of the face in the best frame")
    best_suspect_name = serializers.CharField(source="best_suspect.name", read_only=True, default=None,
                                              allow_null=True)
    frame_url = serializers.SerializerMethodField(help_text="the full frame of the best crop")
    raw_crop_url = serializers.SerializerMethodField()
    enhanced_crop_url = serializers.SerializerMethodField()

    class Meta:
        model = Sighting
        fields = [
            "id", "footage", "camera", "case", "track_id", "first_frame", "last_frame", "first_ts", "last_ts",
            "captured_at", "last_seen_at", "box", "best_frame_index", "best_suspect", "best_suspect_name",
            "best_score", "ai_enhanced", "registry_version", "frame_url", "raw_crop_url", "enhanced_crop_url",
            "created_at",
        ]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_case(self, sighting: Sighting) -> int | None:
        if sighting.footage_id:
            return sighting.footage.case_id
        return sighting.camera.case_id if sighting.camera_id else None

    def get_frame_url(self, sighting: Sighting) -> str | None:
        return _media_url(sighting, "frame")

    def get_raw_crop_url(self, sighting: Sighting) -> str | None:
        return _media_url(sighting, "raw_crop")

    def get_enhanced_crop_url(self, sighting: Sighting) -> str | None:
        return _media_url(sighting, "enhanced_crop")



class SightingDetailOutput(SightingOutput):
    enhancement_records = StepRecordOutput(many=True, read_only=True, help_text="steps applied to the best crop")
    raw_scores = CandidateOutput(many=True, read_only=True, help_text="candidates for the raw crop")
    enhanced_scores = CandidateOutput(many=True, read_only=True, help_text="candidates for the enhanced crop")
    student_scores = CandidateOutput(many=True, read_only=True,
                                     help_text="candidates by the degradation-robust student embedder (empty: not run)")
    top_candidates = CandidateOutput(many=True, read_only=True)
    track_frames = serializers.SerializerMethodField()
    averaged_chip = serializers.SerializerMethodField(
        help_text="the registered average of the track's aligned face chips, a computed image the matcher embedded "
                  "as one more view of the track, with how it was made (null: no average was taken)")

    class Meta(SightingOutput.Meta):
        fields = [*SightingOutput.Meta.fields, "raw_crop_sha256", "enhanced_crop_sha256", "enhancement_records",
                  "raw_scores", "enhanced_scores", "student_scores", "probe_embedder", "top_candidates",
                  "track_frames", "averaged_chip"]

    @extend_schema_field(AveragedChipOutput(allow_null=True))
    def get_averaged_chip(self, sighting: Sighting) -> dict[str, Any] | None:
        url = _media_url(sighting, "averaged_chip")
        if url is None:
            return None
        record = sighting.averaged_chip_record if isinstance(sighting.averaged_chip_record, dict) else {}
        return AveragedChipOutput({**record, "url": url, "sha256": sighting.averaged_chip_sha256,
                                   "frames": record.get("frames") or [], "shares": record.get("shares") or [],
                                   "shifts_px": record.get("shifts_px") or []}).data

    @extend_schema_field(TrackFrameOutput(many=True))
    def get_track_frames(self, sighting: Sighting) -> list[dict[str, Any]]:
        rows = []
        for index, entry in enumerate(sighting.track_frames or []):
            if not isinstance(entry, dict):
                continue
            crop = entry.get("crop")
            url = reverse("sighting-track-frame", kwargs={"pk": sighting.pk, "index": index}) if crop else None
            rows.append({**entry, "index": index, "crop_url": url})
        return TrackFrameOutput(rows, many=True).data


class SightingListQuery(serializers.Serializer):
    case = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False)
    footage = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False)
    camera = serializers.CharField(required=False, max_length=200, trim_whitespace=False, validators=[NO_NUL],
                                   help_text="part of the camera name of the sighting's alerts or of the footage's "
                                             "file name")
    suspect = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False,
                                 help_text="best match or any alert is this suspect")
    created_after = BoundDateTimeField(required=False, help_text="found by the analysis at or after this time")
    created_before = BoundDateTimeField(required=False, help_text="found by the analysis before this time")
    matched = serializers.ChoiceField(choices=["true", "false"], required=False,
                                      help_text="true: a registry match; false: unknown faces only")


def sightings_filtered(sightings: QuerySet[Sighting], filters: dict[str, Any]) -> QuerySet[Sighting]:
    if "case" in filters:
        sightings = sightings.filter(Q(footage__case_id=filters["case"]) | Q(camera__case_id=filters["case"]))
    if "footage" in filters:
        sightings = sightings.filter(footage_id=filters["footage"])
    if filters.get("camera"):
        camera = filters["camera"]
        sightings = sightings.filter(Q(alerts__camera_name__icontains=camera) | Q(camera__name__icontains=camera)
                                     | Q(footage__original_name__icontains=camera)).distinct()
    if "suspect" in filters:
        sightings = sightings.filter(Q(best_suspect_id=filters["suspect"])
                                     | Q(alerts__suspect_id=filters["suspect"])).distinct()
    if "created_after" in filters:
        sightings = sightings.filter(created_at__gte=filters["created_after"])
    if "created_before" in filters:
        sightings = sightings.filter(created_at__lt=filters["created_before"])
    if "matched" in filters:
        sightings = sightings.filter(best_suspect__isnull=filters["matched"] == "false")
    return sightings


class SightingListApi(generics.ListAPIView):
    """Sightings the user may see (their cases' footage; operators also every sighting that raised an alert)."""

    permission_classes = [MethodPermission]
    required_perms = {"GET": "footage.view_sighting"}
    serializer_class = SightingOutput

    @extend_schema(parameters=[SightingListQuery])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Sighting]:
        filters = query_params(SightingListQuery, self.request)
        sightings = sighting_list_for_user(self.request.user).select_related("footage", "camera", "best_suspect").defer(
            "enhancement_records", "raw_scores", "enhanced_scores", "top_candidates", "track_frames", "embedding",
        )
        return sightings_filtered(sightings, filters).order_by("-created_at", "-id")


class SightingDetailApi(generics.RetrieveAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "footage.view_sighting"}
    serializer_class = SightingDetailOutput

    def get_queryset(self) -> QuerySet[Sighting]:
        return sighting_list_for_user(self.request.user).select_related("footage", "camera", "best_suspect").defer(
            "embedding")

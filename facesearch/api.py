"""REST API: search by face, attach a sighting to a case, enrol a suspect from sightings, unknown-person profiles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facecase.api import as_drf_error
from facecase.permissions import MethodPermission
from facecase.selectors import case_list_for_user
from facesearch.models import Profile
from facesearch.selectors import (
    filtered_sightings,
    profile_appearances,
    profile_get_for_user,
    profile_list_for_user,
    sighting_case_id,
    sighting_for_user,
)
from facesearch.services import (
    face_search_run,
    profile_merge,
    profile_promote,
    profile_split,
    sighting_attach_to_case,
    suspect_from_sightings,
)
from footage.models import Sighting
from suspects.models import Suspect


class IdListField(serializers.ListField):
    """A JSON array of positive integer ids. Errors are one flat list of messages (the shape of every other field
    error), not DRF's per-index dict; ``true`` or ``2.5`` is no id."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.IntegerField(min_value=1), **kwargs)

    def to_internal_value(self, data: Any) -> list[int]:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        wrong = [i for i, item in enumerate(data) if isinstance(item, bool) or not isinstance(item, int) or item < 1]
        if wrong:
            raise serializers.ValidationError(
                [f"item {i} is not a positive integer id" for i in wrong[:10]])
        return super().to_internal_value(data)


class SightingBrief(serializers.Serializer):
    """A sighting as search results and profile timelines show it (links lead to permission-checked pages). Its
    source is a footage file or a live camera (named; its address, which may hold credentials, never appears)."""

    id = serializers.IntegerField()
    case = serializers.SerializerMethodField(help_text="the footage's or the camera's case (null: a camera in no case)")
    case_reference = serializers.SerializerMethodField()
    source_kind = serializers.SerializerMethodField()
    footage = serializers.IntegerField(source="footage_id", allow_null=True)
    camera = serializers.IntegerField(source="camera_id", allow_null=True)
    source = serializers.CharField(source="source_name", help_text="the footage file name or the camera name")
    track_id = serializers.IntegerField()
    first_ts = serializers.FloatField()
    last_ts = serializers.FloatField()
    captured_at = serializers.DateTimeField(allow_null=True, help_text="cameras: wall-clock time of the first frame")
    seen_at = serializers.SerializerMethodField(help_text="capture time for cameras, else when it was stored")
    created_at = serializers.DateTimeField()
    raw_crop_url = serializers.SerializerMethodField()
    enhanced_crop_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_case(self, sighting: Sighting) -> int | None:
        return sighting_case_id(sighting)

    def get_case_reference(self, sighting: Sighting) -> str | None:
        case = sighting.footage.case if sighting.footage_id else sighting.camera.case
        return case.reference if case is not None else None

    @extend_schema_field(serializers.ChoiceField(choices=["footage", "camera"]))
    def get_source_kind(self, sighting: Sighting) -> str:
        return "camera" if sighting.camera_id else "footage"

    def get_seen_at(self, sighting: Sighting) -> datetime:
        return serializers.DateTimeField().to_representation(sighting.captured_at or sighting.created_at)

    def get_raw_crop_url(self, sighting: Sighting) -> str | None:
        return reverse("media", args=["sighting", sighting.pk, "raw_crop"]) if sighting.raw_crop else None

    def get_enhanced_crop_url(self, sighting: Sighting) -> str | None:
        return reverse("media", args=["sighting", sighting.pk, "enhanced_crop"]) if sighting.enhanced_crop else None

    def get_url(self, sighting: Sighting) -> str:
        return reverse("sighting-provenance", args=[sighting.pk])


class SearchResultOutput(serializers.Serializer):
    rank = serializers.IntegerField()
    distance = serializers.FloatField()
    score = serializers.FloatField(help_text="alerts' calibrated scale: 0.5 at the alert threshold")
    same_person = serializers.BooleanField(help_text="distance under the alert threshold")
    sighting = SightingBrief()


class SearchOutput(serializers.Serializer):
    id = serializers.IntegerField(source="search.id")
    probe_sha256 = serializers.CharField(source="search.probe_sha256", allow_blank=True)
    probe_box = serializers.ListField(child=serializers.IntegerField(), source="search.probe_box", allow_null=True)
    sighting = serializers.IntegerField(source="search.sighting_id", allow_null=True)
    threshold = serializers.FloatField(source="search.threshold")
    filters = serializers.DictField(source="search.filters")
    created_at = serializers.DateTimeField(source="search.created_at")
    results = SearchResultOutput(many=True)


class SearchInput(serializers.Serializer):
    probe = serializers.ImageField(required=False, help_text="a photo with the face to look for")
    sighting = serializers.IntegerField(required=False, min_value=1, help_text="or: search with this sighting")
    case = serializers.IntegerField(required=False, min_value=1)
    source = serializers.CharField(required=False, allow_blank=True, max_length=255)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    min_score = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("probe" in attrs) == ("sighting" in attrs):
            raise serializers.ValidationError({"probe": ["give either a probe photo or a sighting id"]})
        return attrs


class FaceSearchApi(APIView):
    """Search every sighting you may see for a face (uploaded photo or a sighting); the probe is kept and audited."""

    permission_classes = [MethodPermission]
    required_perms = {"POST": "facesearch.add_facesearch"}
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request={"multipart/form-data": SearchInput, "application/json": SearchInput},
                   responses={200: SearchOutput})
    def post(self, request: Request) -> Response:
        data = SearchInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        sighting = None
        if "sighting" in values:
            sighting = sighting_for_user(request.user, values["sighting"])
            if sighting is None:  # the same answer for a sighting that does not exist and one the user may not see
                raise serializers.ValidationError({"sighting": ["no such sighting"]})
        filters = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()
                   if k in ("case", "source", "date_from", "date_to", "min_score")}
        probe = values.get("probe")
        try:
            outcome = face_search_run(actor=request.user, probe=probe.read() if probe else None,
                                      probe_name=probe.name if probe else "", sighting=sighting, filters=filters,
                                      limit=values["limit"])
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(SearchOutput({"search": outcome.search, "results": outcome.results}).data)


class AttachInput(serializers.Serializer):
    case = serializers.IntegerField(min_value=1)


class AttachOutput(serializers.Serializer):
    case = serializers.IntegerField(source="case_id")
    sighting = serializers.IntegerField(source="sighting_id")
    added_by = serializers.CharField(source="added_by.username")
    added_at = serializers.DateTimeField()


class SightingAttachApi(APIView):
    """Attach a sighting you may see (and its footage reference) to one of your cases."""

    parser_classes = [JSONParser]
    permission_classes = [MethodPermission]
    required_perms = {"POST": "facesearch.add_casesighting"}

    @extend_schema(request=AttachInput, responses={200: AttachOutput, 201: AttachOutput})
    def post(self, request: Request, pk: int) -> Response:
        sighting = get_object_or_404(filtered_sightings(request.user, {}), pk=pk)
        data = AttachInput(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_list_for_user(request.user).filter(pk=data.validated_data["case"]).first()
        if case is None:
            raise serializers.ValidationError({"case": ["no such case"]})
        attachment, created = sighting_attach_to_case(actor=request.user, sighting=sighting, case=case)
        return Response(AttachOutput(attachment).data, status=status.HTTP_201_CREATED if created else 200)


class EnrolInput(serializers.Serializer):
    sightings = IdListField(min_length=1, max_length=20)
    name = serializers.CharField(max_length=200)
    external_id = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(choices=Suspect.Status.choices, required=False)


class CropCheckOutput(serializers.Serializer):
    sighting = serializers.IntegerField()
    faces = serializers.IntegerField(help_text="faces the registry's face check found in the crop")
    used = serializers.BooleanField()


class EnrolOutput(serializers.Serializer):
    suspect = serializers.IntegerField(source="suspect.pk")
    name = serializers.CharField(source="suspect.name")
    checks = CropCheckOutput(many=True)


class SuspectFromSightingsApi(APIView):
    """Admins: start a suspect from chosen sightings' crops (each crop goes through the registry's face check)."""

    parser_classes = [JSONParser]
    permission_classes = [MethodPermission]
    required_perms = {"POST": "suspects.add_suspect"}

    @extend_schema(request=EnrolInput, responses={201: EnrolOutput})
    def post(self, request: Request) -> Response:
        data = EnrolInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["sightings"]
        sightings = list(filtered_sightings(request.user, {}).filter(pk__in=ids))
        if len(sightings) != len(set(ids)):
            raise serializers.ValidationError({"sightings": ["no such sighting among them: check the ids"]})
        values = data.validated_data
        try:
            suspect, checks = suspect_from_sightings(actor=request.user, sightings=sightings, name=values["name"],
                                                     external_id=values["external_id"], status=values.get("status"))
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(EnrolOutput({"suspect": suspect, "checks": checks}).data, status=status.HTTP_201_CREATED)


class ProfileOutput(serializers.Serializer):
    id = serializers.IntegerField(source="profile.pk")
    status = serializers.ChoiceField(choices=Profile.Status.choices, source="profile.status")
    curated = serializers.BooleanField(source="profile.curated")
    suspect = serializers.IntegerField(source="profile.suspect_id", allow_null=True)
    sightings = serializers.IntegerField(help_text="sightings you may see")
    cases = serializers.IntegerField(help_text="cases among them")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()


class ProfileListApi(APIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "facesearch.view_profile"}

    @extend_schema(responses={200: ProfileOutput(many=True)})
    def get(self, request: Request) -> Response:
        rows = profile_list_for_user(request.user)
        return Response(ProfileOutput([row.__dict__ for row in rows], many=True).data)


class ProfileDetailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Profile.Status.choices)
    curated = serializers.BooleanField()
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)
    suspect = serializers.IntegerField(source="suspect_id", allow_null=True)
    appearances = SightingBrief(many=True, help_text="the visible sightings in time order")


def _detail(request: Request, profile: Profile, code: int = 200) -> Response:
    profile.appearances = list(profile_appearances(request.user, profile))
    return Response(ProfileDetailOutput(profile).data, status=code)


def _profile_or_404(request: Request, pk: int) -> Profile:
    profile = profile_get_for_user(request.user, pk)
    if profile is None:
        from django.http import Http404

        raise Http404("no such profile")
    return profile


class ProfileDetailApi(APIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "facesearch.view_profile"}

    @extend_schema(responses={200: ProfileDetailOutput})
    def get(self, request: Request, pk: int) -> Response:
        return _detail(request, _profile_or_404(request, pk))


class MergeInput(serializers.Serializer):
    profiles = IdListField(min_length=1, max_length=50, help_text="profiles to fold into this one")


class _ProfileChangeApi(APIView):
    """A POST that changes one profile the user may see: merge, split, promote."""

    parser_classes = [JSONParser]
    permission_classes = [MethodPermission]
    required_perms = {"POST": "facesearch.change_profile"}

    def change(self, request: Request, pk: int, input_class: type[serializers.Serializer],
               act: Callable[[Profile, dict[str, Any]], Any]) -> Any:
        """The profile (404 when invisible), the input checked, then ``act(profile, values)`` with a service's
        ``ValidationError`` answered as a 400/409."""
        profile = _profile_or_404(request, pk)
        data = input_class(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            return act(profile, data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc


class ProfileMergeApi(_ProfileChangeApi):
    """Fold other profiles you may see into this one (an analyst's merge: audited, never undone by consolidation)."""

    @extend_schema(request=MergeInput, responses={200: ProfileDetailOutput})
    def post(self, request: Request, pk: int) -> Response:
        def merge(target: Profile, values: dict[str, Any]) -> Profile:
            others = [_profile_or_404(request, other) for other in set(values["profiles"])]
            return profile_merge(actor=request.user, target=target, others=others)

        return _detail(request, self.change(request, pk, MergeInput, merge))


class SplitInput(serializers.Serializer):
    sightings = IdListField(min_length=1, max_length=500, help_text="sightings of this profile that are someone else")


class ProfileSplitApi(_ProfileChangeApi):
    """Move chosen sightings of this profile to a new profile (they are someone else): audited."""

    @extend_schema(request=SplitInput, responses={201: ProfileDetailOutput})
    def post(self, request: Request, pk: int) -> Response:
        def split(profile: Profile, values: dict[str, Any]) -> Profile:
            ids = values["sightings"]
            sightings = list(profile_appearances(request.user, profile).filter(pk__in=ids))
            if len(sightings) != len(set(ids)):
                raise DjangoValidationError({"sightings": ["choose sightings of this profile"]})
            return profile_split(actor=request.user, profile=profile, sightings=sightings)

        return _detail(request, self.change(request, pk, SplitInput, split), status.HTTP_201_CREATED)


class PromoteInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    external_id = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(choices=Suspect.Status.choices, required=False)


class ProfilePromoteApi(_ProfileChangeApi):
    """Promote a profile to a suspect: its visible sightings' crops (at most 10, each face-checked) become photos and
    the registry is rebuilt. Analysts may promote (issue 20); only admins choose a status other than person of
    interest (docs/ARCHITECTURE.md, face search)."""

    @extend_schema(request=PromoteInput, responses={201: EnrolOutput})
    def post(self, request: Request, pk: int) -> Response:
        def promote(profile: Profile, values: dict[str, Any]) -> tuple[Any, list[Any]]:
            return profile_promote(actor=request.user, profile=profile,
                                   sightings=list(profile_appearances(request.user, profile)[:10]),
                                   name=values["name"], external_id=values["external_id"],
                                   status=values.get("status"))

        suspect, checks = self.change(request, pk, PromoteInput, promote)
        return Response(EnrolOutput({"suspect": suspect, "checks": checks}).data, status=status.HTTP_201_CREATED)

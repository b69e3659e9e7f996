"""REST API for cameras: everyone with a role reads the cameras they may see (with health); admins create, edit
and remove them (audited). ``source_url`` is write-only: answers carry ``source`` with its credentials masked."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from cameras.models import Camera
from cameras.selectors import camera_list_for_user
from cameras.services import camera_create, camera_delete, camera_update
from facecase.api import as_drf_error
from facecase.api_errors import Conflict, ErrorOutput
from facecase.api_fields import StrictBooleanField, StrictIntegerField, optional_text, required_text
from facecase.models import Case
from facecase.permissions import MethodPermission


class CameraOutput(serializers.ModelSerializer):
    source = serializers.CharField(source="masked_url", read_only=True, help_text="the source URL, credentials masked")
    source_kind = serializers.ChoiceField(choices=["rtsp", "http", "device", "file"], read_only=True)
    case = serializers.IntegerField(source="case_id", read_only=True, allow_null=True)

    class Meta:
        model = Camera
        fields = [
            "id", "name", "location", "source", "source_kind", "enabled", "analysis_fps", "detector", "min_face_px",
            "case", "health", "health_reason", "fps_received", "fps_analysed", "lag_s", "last_frame_at",
            "frame_width", "frame_height", "runner", "created_at", "updated_at",
        ]


class CameraInput(serializers.Serializer):
    name = required_text(200)
    location = optional_text(200, required=False, default="")
    source_url = required_text(1000, write_only=True,
                               help_text="rtsp://, http(s):// MJPEG, /dev/videoN or a video file path")
    enabled = StrictBooleanField(required=False, default=True)
    analysis_fps = serializers.FloatField(required=False, default=5.0, min_value=0.2, max_value=30)
    detector = serializers.ChoiceField(choices=Camera.Detector.choices, required=False, default="haar")
    min_face_px = StrictIntegerField(required=False, default=20, min_value=8, max_value=512)
    case = StrictIntegerField(required=False, allow_null=True, default=None, min_value=1,
                              help_text="id of the case its sightings attach to (null: none)")


class CameraUpdateInput(CameraInput):
    name = required_text(200, required=False)
    source_url = required_text(1000, write_only=True, required=False,
                               help_text="rtsp://, http(s):// MJPEG, /dev/videoN or a video file path")


CAMERA_CONFLICT = OpenApiResponse(ErrorOutput, description="Another camera has this name, or no case has that id.")


def _write(call: Any, **kwargs: Any) -> Any:
    if kwargs.get("case") is not None:
        case = Case.objects.filter(pk=kwargs["case"]).first()
        if case is None:
            raise Conflict(f"no case has the id {kwargs['case']}")
        kwargs["case"] = case
    try:
        return call(**kwargs)
    except DjangoValidationError as exc:
        raise as_drf_error(exc) from exc


class CameraListApi(generics.ListAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "cameras.view_camera", "POST": "cameras.add_camera"}
    serializer_class = CameraOutput

    def get_queryset(self):
        return camera_list_for_user(self.request.user)

    @extend_schema(request=CameraInput, responses={201: CameraOutput, 409: CAMERA_CONFLICT})
    def post(self, request: Request) -> Response:
        data = CameraInput(data=request.data)
        data.is_valid(raise_exception=True)
        camera = _write(camera_create, actor=request.user, **data.validated_data)
        return Response(CameraOutput(camera).data, status=status.HTTP_201_CREATED)


class CameraDetailApi(generics.RetrieveAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "cameras.view_camera", "PATCH": "cameras.change_camera",
                      "DELETE": "cameras.delete_camera"}
    serializer_class = CameraOutput

    def get_queryset(self):
        return camera_list_for_user(self.request.user)

    @extend_schema(request=CameraUpdateInput, responses={200: CameraOutput, 409: CAMERA_CONFLICT})
    def patch(self, request: Request, pk: int) -> Response:
        camera = get_object_or_404(self.get_queryset(), pk=pk)
        data = CameraUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        _write(camera_update, actor=request.user, camera=camera, **data.validated_data)
        camera.refresh_from_db()
        return Response(CameraOutput(camera).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        camera = get_object_or_404(self.get_queryset(), pk=pk)
        camera_delete(actor=request.user, camera=camera)
        return Response(status=status.HTTP_204_NO_CONTENT)

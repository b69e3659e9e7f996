"""REST API for footage (upload, status, job log) and alerts (list, review)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facecase.api_errors import ErrorOutput, as_drf_error
from facecase.api_fields import MAX_ID, BoundDateTimeField, StrictBooleanField, StrictIntegerField, optional_text
from facecase.api_pagination import MAX_OFFSET, single_query_value
from facecase.permissions import MethodPermission
from facecase.selectors import case_list_for_user
from footage.models import Alert, Footage, JobLogLine
from footage.selectors import alert_list_for_user, alerts_filtered, footage_list_for_user, footage_log
from footage.services import (
    REVIEW_DECISIONS,
    AlertAlreadyReviewed,
    alert_review,
    footage_requeue,
    ingest_from_request,
)


class FootageOutput(serializers.ModelSerializer):
    case = serializers.IntegerField(source="case_id", read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)

    class Meta:
        model = Footage
        fields = [
            "id", "case", "original_name", "sha256", "size", "content_type", "kind", "width", "height", "fps",
            "frame_count", "duration", "status", "progress", "error", "uploaded_by", "created_at", "updated_at",
            "started_at", "finished_at",
        ]


class FootageUploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="an image or a video; the type is checked by content, so a file that is "
                                           "neither is a 400 (field errors under `file`)")


def query_params(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    """The view's query parameters, checked: each at most once, of the declared type, else a 400."""
    raw = {name: single_query_value(request, name) for name in serializer_class().fields}
    data = serializer_class(data={name: value for name, value in raw.items() if value is not None})
    data.is_valid(raise_exception=True)
    return data.validated_data


class LogQuery(serializers.Serializer):
    after = StrictIntegerField(min_value=0, max_value=MAX_OFFSET, required=False, default=0,
                                     help_text="only lines with seq greater than this")


class LogLineOutput(serializers.ModelSerializer):
    class Meta:
        model = JobLogLine
        fields = ["seq", "level", "message", "created_at"]


FOOTAGE_LINKS = {
    "201": {
        "GetFootage": {"operationId": "footage_retrieve", "parameters": {"id": "$response.body#/id"}},
        "GetFootageLog": {"operationId": "footage_log_list", "parameters": {"id": "$response.body#/id"}},
        "RequeueFootage": {"operationId": "footage_requeue_create", "parameters": {"id": "$response.body#/id"}},
        "ListSightingsOfFootage": {"operationId": "sightings_list",
                                   "parameters": {"footage": "$response.body#/id"}},
    }
}


class CaseFootageApi(generics.ListAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "footage.view_footage", "POST": "footage.add_footage"}
    serializer_class = FootageOutput
    parser_classes = [MultiPartParser]
    schema_links = FOOTAGE_LINKS

    def get_case(self):
        return get_object_or_404(case_list_for_user(self.request.user), pk=self.kwargs["case_id"])

    def get_queryset(self):
        return footage_list_for_user(self.request.user).filter(case=self.get_case()).select_related("uploaded_by")

    @extend_schema(request={"multipart/form-data": FootageUploadInput}, responses={201: FootageOutput})
    def post(self, request: Request, case_id: int) -> Response:
        case = self.get_case()
        try:
            footage = ingest_from_request(request, case)
        except DjangoValidationError as exc:
            if getattr(exc, "code", None) == "too_large":
                return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
            return Response({"file": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(FootageOutput(footage).data, status=status.HTTP_201_CREATED)


class FootageDetailApi(generics.RetrieveAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "footage.view_footage"}
    serializer_class = FootageOutput

    def get_queryset(self):
        return footage_list_for_user(self.request.user).select_related("uploaded_by")


class FootageLogApi(generics.ListAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "footage.view_joblogline"}
    serializer_class = LogLineOutput
    pagination_class = None

    @extend_schema(parameters=[LogQuery])
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        footage = get_object_or_404(footage_list_for_user(self.request.user), pk=self.kwargs["pk"])
        return footage_log(footage, after_seq=query_params(LogQuery, self.request)["after"])


class FootageRequeueInput(serializers.Serializer):
    fresh = StrictBooleanField(default=False, help_text="forget the analysis checkpoint and start over")


class FootageRequeueApi(APIView):
    """Analyse again: footage that failed or finished goes back to the queue."""

    permission_classes = [MethodPermission]
    required_perms = {"POST": "footage.add_footage"}

    @extend_schema(request=FootageRequeueInput, responses={200: FootageOutput, 409: OpenApiResponse(
        ErrorOutput, description="The footage is queued or processing; only done or failed footage can be queued "
                                 "again.")})
    def post(self, request: Request, pk: int) -> Response:
        footage = get_object_or_404(footage_list_for_user(request.user), pk=pk)
        data = FootageRequeueInput(data=request.data)
        data.is_valid(raise_exception=True)
        if footage.status not in (Footage.Status.DONE, Footage.Status.FAILED):
            return Response({"detail": f"footage is {footage.status}; only done or failed footage can be queued "
                                       "again"}, status=status.HTTP_409_CONFLICT)
        footage = footage_requeue(actor=request.user, footage=footage, fresh=data.validated_data["fresh"],
                                  reason=f"requested by {request.user.get_username()}")
        return Response(FootageOutput(footage).data)


class AlertOutput(serializers.ModelSerializer):
    suspect_name = serializers.CharField(source="suspect.name", read_only=True)
    reviewed_by = serializers.CharField(source="reviewed_by.username", read_only=True, default=None, allow_null=True,
                                        help_text="null until the alert is reviewed")

    class Meta:
        model = Alert
        fields = [
            "id", "footage", "camera", "camera_name", "captured_at", "sighting", "suspect", "suspect_name", "score",
            "raw_score", "holds_on_raw", "embedder", "teacher_score", "status", "reviewed_by", "reviewed_at",
            "review_note", "created_at",
            "registry_version", "clip_sha256", "clip_started_at", "clip_ended_at",
        ]


class AlertReviewInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=list(REVIEW_DECISIONS))
    note = optional_text(2000, required=False, default="")
    override = StrictBooleanField(required=False, default=False,
                                  help_text="change an existing decision (a note saying why is required)")


class AlertListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Alert.Status.choices, required=False)
    suspect = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="raised for this suspect")
    case = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False,
                              help_text="raised on this case's footage or on a camera attached to it")
    camera = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="raised by this live camera")
    footage = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False,
                                 help_text="raised by this uploaded footage")
    created_after = BoundDateTimeField(required=False, help_text="raised at or after this time")
    created_before = BoundDateTimeField(required=False, help_text="raised before this time")


class AlertListApi(generics.ListAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "footage.view_alert"}
    serializer_class = AlertOutput

    @extend_schema(parameters=[AlertListQuery])
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return alerts_filtered(alert_list_for_user(self.request.user), query_params(AlertListQuery, self.request))


class AlertDetailApi(generics.RetrieveAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "footage.view_alert"}
    serializer_class = AlertOutput

    def get_queryset(self):
        return alert_list_for_user(self.request.user)


class AlertReviewApi(APIView):
    permission_classes = [MethodPermission]
    required_perms = {"POST": "footage.change_alert"}

    @extend_schema(request=AlertReviewInput, responses={200: AlertOutput, 409: OpenApiResponse(
        ErrorOutput, description="The alert was already reviewed (a second review needs an override with a note).")})
    def post(self, request: Request, pk: int) -> Response:
        alert = get_object_or_404(alert_list_for_user(request.user), pk=pk)
        data = AlertReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            alert = alert_review(actor=request.user, alert=alert, **data.validated_data)
        except AlertAlreadyReviewed as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(AlertOutput(alert).data)

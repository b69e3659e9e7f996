"""REST API for the suspect registry and its reference photos."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from facecase.api import CONFLICT, stripped
from facecase.api_errors import ErrorOutput, as_drf_error
from facecase.api_fields import optional_text, required_text
from facecase.permissions import MethodPermission
from facecase.uploads import upload_errors
from suspects.models import Suspect, SuspectPhoto
from suspects.services import suspect_create, suspect_delete, suspect_photo_add, suspect_update


class SuspectOutput(serializers.ModelSerializer):
    photo_count = serializers.IntegerField(source="photos.count", read_only=True)

    class Meta:
        model = Suspect
        fields = ["id", "name", "external_id", "status", "notes", "photo_count", "created_at", "updated_at"]


class SuspectInput(serializers.Serializer):
    name = required_text(200)
    external_id = required_text(64, help_text="unique; surrounding spaces are removed")
    status = serializers.ChoiceField(choices=Suspect.Status.choices, default=Suspect.Status.PERSON_OF_INTEREST)
    notes = optional_text(required=False, default="")


class SuspectUpdateInput(serializers.Serializer):
    name = required_text(200, required=False)
    external_id = required_text(64, required=False)
    status = serializers.ChoiceField(choices=Suspect.Status.choices, required=False)
    notes = optional_text(required=False)


class PhotoOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = SuspectPhoto
        fields = ["id", "suspect", "original_name", "sha256", "face_box", "embedder", "created_at", "url"]

    def get_url(self, photo: SuspectPhoto) -> str:
        return f"/media/suspect-photo/{photo.pk}/image/"


class PhotoUploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="a JPEG or PNG photo; checked by content, so anything else is a 400")
    face_box = serializers.RegexField(
        r"^\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*$", required=False,
        help_text="x,y,w,h of the suspect's face (upright photo pixels); required when the photo shows several faces",
    )


SUSPECT_LINKS = {
    "201": {
        "GetSuspect": {"operationId": "suspects_retrieve", "parameters": {"id": "$response.body#/id"}},
        "UpdateSuspect": {"operationId": "suspects_partial_update", "parameters": {"id": "$response.body#/id"}},
        "DeleteSuspect": {"operationId": "suspects_destroy", "parameters": {"id": "$response.body#/id"}},
        "ListPhotos": {"operationId": "suspects_photos_list", "parameters": {"id": "$response.body#/id"}},
        "AddPhoto": {"operationId": "suspects_photos_create", "parameters": {"id": "$response.body#/id"}},
    }
}


class SuspectListCreateApi(generics.ListAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "suspects.view_suspect", "POST": "suspects.add_suspect"}
    serializer_class = SuspectOutput
    queryset = Suspect.objects.all()
    schema_links = SUSPECT_LINKS

    @extend_schema(request=SuspectInput, responses={201: SuspectOutput, 409: CONFLICT})
    def post(self, request: Request) -> Response:
        data = SuspectInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            suspect = suspect_create(actor=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(SuspectOutput(suspect).data, status=status.HTTP_201_CREATED)


class SuspectDetailApi(generics.RetrieveAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "suspects.view_suspect", "PATCH": "suspects.change_suspect",
                      "DELETE": "suspects.delete_suspect"}
    serializer_class = SuspectOutput
    queryset = Suspect.objects.all()

    @extend_schema(request=SuspectUpdateInput, responses={200: SuspectOutput, 409: CONFLICT})
    def patch(self, request: Request, pk: int) -> Response:
        suspect = get_object_or_404(Suspect, pk=pk)
        data = SuspectUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            suspect = suspect_update(actor=request.user, suspect=suspect,
                                     **stripped(data.validated_data, "name", "external_id"))
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(SuspectOutput(suspect).data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(
        ErrorOutput, description="The suspect has alerts on record, which are evidence: set the status to cleared.")})
    def delete(self, request: Request, pk: int) -> Response:
        try:
            suspect_delete(actor=request.user, suspect=get_object_or_404(Suspect, pk=pk))
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SuspectPhotoApi(generics.ListAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "suspects.view_suspectphoto", "POST": "suspects.add_suspectphoto"}
    serializer_class = PhotoOutput
    parser_classes = [MultiPartParser]
    pagination_class = None

    def get_queryset(self):
        return SuspectPhoto.objects.filter(suspect=get_object_or_404(Suspect, pk=self.kwargs["pk"]))

    @extend_schema(request={"multipart/form-data": PhotoUploadInput}, responses={201: PhotoOutput})
    def post(self, request: Request, pk: int) -> Response:
        suspect = get_object_or_404(Suspect, pk=pk)
        upload = request.FILES.get("file")
        if upload is None:
            refused = upload_errors(request._request).get("file")
            if refused:
                return Response({"detail": refused}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
            return Response({"file": ["no file uploaded (form field 'file')"]}, status=status.HTTP_400_BAD_REQUEST)
        box = request.data.get("face_box")
        if box is not None:
            PhotoUploadInput(data={"file": upload, "face_box": box}).is_valid(raise_exception=True)
            box = [int(v) for v in box.split(",")]
        try:  # the web form's face check: no face, or several without a chosen box, is a 400 with the reason
            photo = suspect_photo_add(actor=request.user, suspect=suspect, upload=upload, check_face=True, face_box=box)
        except DjangoValidationError as exc:
            return Response({"file": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(PhotoOutput(photo).data, status=status.HTTP_201_CREATED)

"""REST API for the suspect registry and its reference photos."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from facecase.api import as_drf_error
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
    name = serializers.CharField(max_length=200)
    external_id = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(choices=Suspect.Status.choices, default=Suspect.Status.PERSON_OF_INTEREST)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class SuspectUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    external_id = serializers.CharField(max_length=64, required=False)
    status = serializers.ChoiceField(choices=Suspect.Status.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


class PhotoOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = SuspectPhoto
        fields = ["id", "suspect", "original_name", "sha256", "face_box", "embedder", "created_at", "url"]

    def get_url(self, photo: SuspectPhoto) -> str:
        return f"/media/suspect-photo/{photo.pk}/image/"


class PhotoUploadInput(serializers.Serializer):
    file = serializers.FileField()
    face_box = serializers.RegexField(
        r"^\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*$", required=False,
        help_text="x,y,w,h of the suspect's face (upright photo pixels); required when the photo shows several faces",
    )


class SuspectListCreateApi(generics.ListAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "suspects.view_suspect", "POST": "suspects.add_suspect"}
    serializer_class = SuspectOutput
    queryset = Suspect.objects.all()

    @extend_schema(request=SuspectInput, responses={201: SuspectOutput})
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

    @extend_schema(request=SuspectUpdateInput, responses={200: SuspectOutput})
    def patch(self, request: Request, pk: int) -> Response:
        suspect = get_object_or_404(Suspect, pk=pk)
        data = SuspectUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            suspect = suspect_update(actor=request.user, suspect=suspect, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(SuspectOutput(suspect).data)

    @extend_schema(responses={204: None, 409: None})
    def delete(self, request: Request, pk: int) -> Response:
        try:
            suspect_delete(actor=request.user, suspect=get_object_or_404(Suspect, pk=pk))
        except DjangoValidationError as exc:
            return Response({"detail": exc.messages}, status=status.HTTP_409_CONFLICT)
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
            reason = upload_errors(request._request).get("file") or "no file uploaded (form field 'file')"
            return Response({"file": [reason]}, status=status.HTTP_400_BAD_REQUEST)
        box = request.data.get("face_box")
        if box is not None:
            PhotoUploadInput(data={"file": upload, "face_box": box}).is_valid(raise_exception=True)
            box = [int(v) for v in box.split(",")]
        try:  # the web form's face check: no face, or several without a chosen box, is a 400 with the reason
            photo = suspect_photo_add(actor=request.user, suspect=suspect, upload=upload, check_face=True, face_box=box)
        except DjangoValidationError as exc:
            return Response({"file": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(PhotoOutput(photo).data, status=status.HTTP_201_CREATED)

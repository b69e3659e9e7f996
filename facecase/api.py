"""REST API for cases."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from facecase.models import Case
from facecase.permissions import MethodPermission
from facecase.selectors import case_list_for_user
from facecase.services import case_create, case_update


def as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "message_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"detail": exc.messages})


class CaseOutput(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = Case
        fields = ["id", "reference", "title", "description", "status", "created_by", "created_at", "updated_at"]


class CaseCreateInput(serializers.Serializer):
    reference = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class CaseUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Case.Status.choices, required=False)


class CaseListCreateApi(generics.ListAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "facecase.view_case", "POST": "facecase.add_case"}
    serializer_class = CaseOutput

    def get_queryset(self):
        return case_list_for_user(self.request.user).select_related("created_by")

    @extend_schema(request=CaseCreateInput, responses={201: CaseOutput})
    def post(self, request: Request) -> Response:
        data = CaseCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            case = case_create(actor=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(CaseOutput(case).data, status=status.HTTP_201_CREATED)


class CaseDetailApi(generics.RetrieveAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "facecase.view_case", "PATCH": "facecase.change_case"}
    serializer_class = CaseOutput

    def get_queryset(self):
        return case_list_for_user(self.request.user).select_related("created_by")

    @extend_schema(request=CaseUpdateInput, responses={200: CaseOutput})
    def patch(self, request: Request, pk: int) -> Response:
        case = get_object_or_404(self.get_queryset(), pk=pk)
        data = CaseUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            case = case_update(actor=request.user, case=case, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(CaseOutput(case).data)

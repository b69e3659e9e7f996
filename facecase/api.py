"""REST API for cases, and the token endpoint."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from facecase.api_errors import ErrorOutput, as_drf_error
from facecase.api_fields import StrictCharField, optional_text, required_text
from facecase.models import Case
from facecase.permissions import MethodPermission
from facecase.selectors import case_list_for_user
from facecase.services import case_create, case_update


def stripped(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value.strip() if key in names and isinstance(value, str) else value for key, value in data.items()}


CONFLICT = OpenApiResponse(ErrorOutput, description="Another object already uses this unique value.")


class CaseOutput(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = Case
        fields = ["id", "reference", "title", "description", "status", "created_by", "created_at", "updated_at"]


class CaseCreateInput(serializers.Serializer):
    reference = required_text(64, help_text="unique; surrounding spaces are removed")
    title = required_text(200)
    description = optional_text(required=False, default="")


class CaseUpdateInput(serializers.Serializer):
    title = required_text(200, required=False)
    description = optional_text(required=False)
    status = serializers.ChoiceField(choices=Case.Status.choices, required=False)


CASE_LINKS = {
    "201": {
        "GetCase": {"operationId": "cases_retrieve", "parameters": {"id": "$response.body#/id"}},
        "UpdateCase": {"operationId": "cases_partial_update", "parameters": {"id": "$response.body#/id"}},
        "ListCaseFootage": {"operationId": "cases_footage_list", "parameters": {"case_id": "$response.body#/id"}},
        "UploadFootage": {"operationId": "cases_footage_create", "parameters": {"case_id": "$response.body#/id"}},
    }
}


class CaseListCreateApi(generics.ListAPIView):
    permission_classes = [MethodPermission]
    required_perms = {"GET": "facecase.view_case", "POST": "facecase.add_case"}
    serializer_class = CaseOutput
    schema_links = CASE_LINKS

    def get_queryset(self):
        return case_list_for_user(self.request.user).select_related("created_by")

    @extend_schema(request=CaseCreateInput, responses={201: CaseOutput, 409: CONFLICT})
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
            case = case_update(actor=request.user, case=case, **stripped(data.validated_data, "title"))
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(CaseOutput(case).data)


class TokenInput(serializers.Serializer):
    username = StrictCharField(min_length=1, trim_whitespace=False)
    password = StrictCharField(min_length=1, trim_whitespace=False, style={"input_type": "password"})

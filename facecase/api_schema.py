"""The OpenAPI schema class of the API (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``).

drf-spectacular documents the success response of each operation; the error answers every operation can give
follow from how it is built, so they are declared here once instead of on each view:

- 400 (field errors) when the operation takes a body or query parameters,
- 403 when it needs a logged-in user with a permission (anonymous requests and wrong roles both get 403,
  because session authentication comes first and sends no ``WWW-Authenticate`` challenge),
- 404 when its path names an object (no such object, or one this user may not see),
- 413 when it takes an upload, 415 when it takes a body in a content type it does not parse.

Statuses particular to one operation (409 conflicts) are declared on the view with ``extend_schema``. A view's
``schema_links = {"201": {link name: {"operationId": ..., "parameters": {...}}}}`` adds OpenAPI links to a
response, which Schemathesis' stateful phase follows (create a case -> upload footage to it -> read it).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.backends.base.operations import BaseDatabaseOperations
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from facecase.api_errors import FIELD_ERRORS_SCHEMA, ErrorOutput

BODY_METHODS = ("POST", "PUT", "PATCH")


INT32 = (-(2**31), 2**31 - 1)


def portable_integer_bounds(field: Any) -> tuple[int | None, int | None] | None:
    """A model integer field's bounds as every database keeps them, where DRF took them from this connection.

    ModelSerializer copies the range validators Django derives from the database backend: a PositiveIntegerField
    is 0..2^63-1 on SQLite and 0..2^31-1 on PostgreSQL, so the schema served would depend on where it runs (and the
    committed ``docs/openapi.yaml`` could never match both). The portable range is Django's standard one, which is
    PostgreSQL's."""
    parent = getattr(field, "parent", None)
    if not isinstance(field, serializers.IntegerField) or not isinstance(parent, serializers.ModelSerializer):
        return None
    try:
        model_field = parent.Meta.model._meta.get_field(field.source)
    except (AttributeError, FieldDoesNotExist):
        return None
    internal = model_field.get_internal_type()
    if internal not in BaseDatabaseOperations.integer_field_ranges:
        return None
    here = connection.ops.integer_field_range(internal)
    portable = BaseDatabaseOperations.integer_field_ranges[internal]
    low = portable[0] if field.min_value is not None and field.min_value == here[0] else field.min_value
    high = portable[1] if field.max_value is not None and field.max_value == here[1] else field.max_value
    return low, high


class ApiSchema(AutoSchema):
    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        bounds = portable_integer_bounds(field)
        if bounds is not None and isinstance(schema, dict) and schema.get("type") == "integer":
            for key, value in zip(("minimum", "maximum"), bounds, strict=True):
                if value is not None:
                    schema[key] = value
            inside_int32 = all(v is None or INT32[0] <= v <= INT32[1] for v in bounds)
            if inside_int32 and schema.get("format") == "int64":
                del schema["format"]
        return schema

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, (body, description) in self._error_responses().items():
            if code not in responses:
                responses[code] = {**self._get_response_for_code(body, code, direction=direction),
                                   "description": description}
        for code, links in getattr(self.view, "schema_links", {}).items():
            if code in responses:
                responses[code]["links"] = links
        return responses

    def _field_errors_ref(self) -> dict[str, str]:
        component = ResolvedComponent(name="FieldErrors", type=ResolvedComponent.SCHEMA, object="FieldErrors",
                                      schema=FIELD_ERRORS_SCHEMA)
        self.registry.register_on_missing(component)
        return component.ref

    def _error_responses(self) -> dict[str, tuple[Any, str]]:
        takes_body = self.method in BODY_METHODS
        takes_query = any(parameter.get("in") == "query" for parameter in self._get_parameters())
        errors: dict[str, tuple[Any, str]] = {}
        if takes_body or takes_query:
            errors["400"] = (self._field_errors_ref(), "The request does not validate; the body says why, per field.")
        if getattr(self.view, "permission_classes", None):
            errors["403"] = (ErrorOutput, "Not logged in, or this user's role does not allow the operation.")
        if "{" in self.path:
            errors["404"] = (ErrorOutput, "No such object, or not one this user may see.")
        if takes_body:
            media_types = [parser.media_type for parser in self.view.get_parsers()]
            if "multipart/form-data" in media_types:
                errors["413"] = (ErrorOutput, "The upload is larger than FACECASE_MAX_UPLOAD_BYTES.")
            errors["415"] = (ErrorOutput, f"The body is not in a content type this operation accepts "
                                          f"({', '.join(media_types)}).")
        return errors

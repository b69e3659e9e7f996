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

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent

from facecase.api_errors import FIELD_ERRORS_SCHEMA, ErrorOutput

BODY_METHODS = ("POST", "PUT", "PATCH")


class ApiSchema(AutoSchema):
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

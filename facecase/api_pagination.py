"""Limit/offset pagination that checks its parameters instead of guessing.

DRF's ``LimitOffsetPagination`` ignores a ``limit`` it cannot parse and passes any integer to the database, so
``?limit=28019822511476760610078720`` was a 500 and ``?limit=abc`` silently the default page. Here ``limit``
must be an integer from 1 to ``MAX_LIMIT`` and ``offset`` one from 0 to ``MAX_OFFSET``, each given at most once;
anything else is a 400 with the field's error. A larger limit is refused, not clamped, so a client never
mistakes a short page for the end of the list. The schema states the same ranges.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination

from facecase.api_fields import StrictIntegerField

MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1  # past any list FaceCase holds, and inside every database's integer range


def single_query_value(request: Any, name: str) -> str | None:
    """The one value of query parameter ``name`` (None when absent); given twice is an error, not a guess."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise serializers.ValidationError({name: ["give this parameter at most once"]})
    return values[0] if values else None


class CheckedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def _checked(self, request: Any, name: str, default: int | None, minimum: int, maximum: int) -> int | None:
        raw = single_query_value(request, name)
        if raw is None:
            return default
        field = StrictIntegerField(min_value=minimum, max_value=maximum)
        try:
            return field.run_validation(raw)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({name: exc.detail}) from exc

    def get_limit(self, request: Any) -> int | None:
        return self._checked(request, self.limit_query_param, self.default_limit, 1, MAX_LIMIT)

    def get_offset(self, request: Any) -> int:
        return self._checked(request, self.offset_query_param, 0, 0, MAX_OFFSET) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.limit_query_param, "required": False, "in": "query",
                "description": f"Number of results per page (default {self.default_limit}, at most {MAX_LIMIT}; "
                               "a larger value is a 400, not clamped).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
            {
                "name": self.offset_query_param, "required": False, "in": "query",
                "description": "Index of the first result to return (default 0).",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
            },
        ]

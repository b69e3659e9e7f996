"""Serializer fields whose OpenAPI schema says exactly what they accept.

DRF's ``CharField`` trims surrounding whitespace before checking the length, and refuses NUL characters (PostgreSQL
cannot store them) and, when required, what is blank after trimming; the schema of a plain ``CharField`` says none
of that, so a fuzzer's ``" "`` or ``"a\\x00"`` was a schema-valid request the API refused, and a padded over-long
string one it accepted. These fields do not trim (the services strip names and references themselves), and their
patterns put the rest in the schema (drf-spectacular turns a ``RegexValidator`` into ``pattern``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.core.validators import RegexValidator
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

MAX_ID = 2**63 - 1  # a primary key (bigint) fits: a larger id in a query is a 400, not a database error

# Some character that is not whitespace, and no NUL anywhere.
NOT_BLANK = RegexValidator(r"^[^\x00]*[^\s\x00][^\x00]*$", "enter some text (not only spaces, no NUL characters)")
# "+" rather than "*": DRF never runs validators on an allowed blank, and drf-spectacular writes a blank-allowing
# field with a pattern as oneOf [pattern, maxLength 0], which "" must match exactly once.
NO_NUL = RegexValidator(r"^[^\x00]+$", "NUL characters are not allowed")


class StrictCharField(serializers.CharField):
    """Text that is a JSON string: DRF's ``CharField`` turns ``0`` or ``true`` into ``"0"``/``"True"``, which a
    schema saying ``type: string`` does not allow."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def required_text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return StrictCharField(max_length=max_length, trim_whitespace=False, validators=[NOT_BLANK], **kwargs)


def optional_text(max_length: int | None = None, **kwargs: Any) -> serializers.CharField:
    return StrictCharField(max_length=max_length, allow_blank=True, trim_whitespace=False, validators=[NO_NUL],
                           **kwargs)


class StrictIntegerField(serializers.IntegerField):
    """An integer written as one: DRF's ``IntegerField`` also takes ``"1.0"`` and ``" 1 "``, which a schema saying
    ``type: integer`` does not allow."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not STRICT_INTEGER.fullmatch(data):
            self.fail("invalid")
        if isinstance(data, bool) or isinstance(data, float):
            self.fail("invalid")
        return super().to_internal_value(data)


STRICT_INTEGER = re.compile(r"-?[0-9]+")


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false``: DRF's ``BooleanField`` also takes ``1``, ``"yes"`` or ``"on"``."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class BoundDateTimeField(serializers.DateTimeField):
    """A date-time used as a filter bound, read as RFC 3339 (the schema's ``format: date-time``) says: ``t`` and ``z``
    may be lower case, and an offset that takes the instant past year 1 or 9999 in UTC is still a valid bound (it
    means "from the beginning" or "until the end"), where DRF's field answers 400 to both."""

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="RFC 3339")
        try:
            parsed = parse_datetime(value.strip().upper())
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid", format="RFC 3339, e.g. 2026-11-30T09:45:00Z")
        if parsed.tzinfo is None:
            return super().to_internal_value(value.strip().upper())
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            return (datetime.min if parsed.year == 1 else datetime.max).replace(tzinfo=UTC)

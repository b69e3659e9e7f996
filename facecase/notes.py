"""Case notes. A note is an audit event (verb ``note`` on the case): append-only and attributed by construction,
which is what an evidence log needs, and no second table has to be kept in step with the audit trail."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from facecase.models import AuditEvent, Case
from facecase.services import audit_record

NOTE_VERB = "note"
NOTE_MAX_CHARS = 4000


def case_note_add(*, actor: Any, case: Case, text: str) -> AuditEvent:
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write something first."})
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationError({"text": f"Notes are limited to {NOTE_MAX_CHARS} characters."})
    return audit_record(actor=actor, verb=NOTE_VERB, obj=case, details={"text": text})


def case_notes(case: Case) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        verb=NOTE_VERB, object_type=Case._meta.label_lower, object_id=str(case.pk)
    ).order_by("-created_at", "-id")

"""Write paths for cases and the audit log. Every change records an audit event in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction

from facecase.models import AuditEvent, Case, CaseMember


def audit_record(
    *,
    actor: Any,
    verb: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. ``obj`` fills ``object_type``/``object_id`` from a model instance."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    real_actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=real_actor,
        actor_username=real_actor.get_username() if real_actor else "",
        verb=verb,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
    )


_CASE_EDITABLE = ("title", "description", "status")


@transaction.atomic
def case_create(*, actor: Any, reference: str, title: str, description: str = "") -> Case:
    case = Case(reference=reference.strip(), title=title.strip(), description=description, created_by=actor)
    case.full_clean()
    case.save()
    CaseMember.objects.create(case=case, user=actor)
    audit_record(actor=actor, verb="create", obj=case, details={"reference": case.reference, "title": case.title})
    return case


@transaction.atomic
def case_update(*, actor: Any, case: Case, **fields: Any) -> Case:
    audited_update(actor=actor, obj=case, fields=fields, editable=_CASE_EDITABLE)
    return case


def audited_update(*, actor: Any, obj: Any, fields: dict[str, Any], editable: Iterable[str]) -> dict[str, Any]:
    """Set the ``editable`` ``fields`` that changed, validate, save, and audit the changes (from/to) in one event.
    Call inside the caller's transaction. Returns the changes; nothing is written when there are none."""
    unknown = set(fields) - set(editable)
    if unknown:
        raise ValueError(f"cannot update {obj._meta.verbose_name} fields {sorted(unknown)}")
    changes = {}
    for name, value in fields.items():
        old = getattr(obj, name)
        if old != value:
            changes[name] = {"from": old, "to": value}
            setattr(obj, name, value)
    if changes:
        obj.full_clean()
        obj.save()
        audit_record(actor=actor, verb="update", obj=obj, details={"changes": changes})
    return changes


@transaction.atomic
def case_member_add(*, actor: Any, case: Case, user: Any) -> CaseMember:
    member, created = CaseMember.objects.get_or_create(case=case, user=user)
    if created:
        audit_record(actor=actor, verb="add_member", obj=case, details={"user": user.get_username()})
    return member


@transaction.atomic
def case_member_remove(*, actor: Any, case: Case, user: Any) -> bool:
    """Take ``user`` off ``case``; an open WebSocket of theirs stops receiving the case's events at the next one."""
    removed, _ = CaseMember.objects.filter(case=case, user=user).delete()
    if removed:
        audit_record(actor=actor, verb="remove_member", obj=case, details={"user": user.get_username()})
    return bool(removed)

"""Reads with permission filtering, so who-may-see-what lives in one place."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from facecase.models import Case
from facecase.roles import is_admin, is_analyst


def case_list_for_user(user: Any) -> QuerySet[Case]:
    """Admins see every case; analysts see the cases they created or are members of; nobody else sees any."""
    if is_admin(user):
        return Case.objects.all()
    if is_analyst(user):
        return Case.objects.filter(Q(created_by=user) | Q(memberships__user=user)).distinct()
    return Case.objects.none()


def case_get_for_user(user: Any, case_id: int) -> Case | None:
    return case_list_for_user(user).filter(pk=case_id).first()


def user_can_see_case(user: Any, case: Case) -> bool:
    return case_list_for_user(user).filter(pk=case.pk).exists()


def case_ids_for_user(user: Any) -> list[int]:
    return list(case_list_for_user(user).values_list("pk", flat=True))


AUDIT_FILTERS = ("actor", "verb", "object_type", "object_id", "date_from", "date_to")


def audit_event_list(filters: dict[str, str] | None = None) -> QuerySet:
    """Audit events, newest first, filtered by actor username, verb, object type/id and date (YYYY-MM-DD).
    Only admins may call this: the page checks the role."""
    from facecase.models import AuditEvent

    filters = {key: value.strip() for key, value in (filters or {}).items() if key in AUDIT_FILTERS and value}
    events = AuditEvent.objects.all()
    if filters.get("actor"):
        events = events.filter(actor_username__iexact=filters["actor"])
    if filters.get("verb"):
        events = events.filter(verb=filters["verb"])
    if filters.get("object_type"):
        events = events.filter(object_type=filters["object_type"])
    if filters.get("object_id"):
        events = events.filter(object_id=filters["object_id"])
    from facecase.ui import day_end, day_start

    if filters.get("date_from"):
        events = events.filter(created_at__gte=day_start(filters["date_from"]))
    if filters.get("date_to"):
        events = events.filter(created_at__lt=day_end(filters["date_to"]))
    return events.order_by("-created_at", "-id")

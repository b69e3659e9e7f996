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


def event_recipients(group: str, user_ids: set[int]) -> tuple[set[int], set[int]]:
    """Of ``user_ids``, who may receive an event of ``group`` now, read fresh from the database, and who is gone or
    deactivated: ``(allowed, inactive)``. The live channel asks once per event for every socket of its process, so
    this is a fixed number of queries whatever the number of sockets. It must agree with ``case_list_for_user`` and
    ``facecase.roles`` (superusers count as admins)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models import Exists, OuterRef

    from facecase.events import CASE_GROUP_PREFIX, OPERATORS_GROUP, USER_GROUP_PREFIX
    from facecase.models import CaseMember
    from facecase.roles import ROLE_ADMIN, ROLE_ANALYST, ROLE_OPERATOR

    def role(*names: str) -> Exists:
        return Exists(Group.objects.filter(user=OuterRef("pk"), name__in=names))

    rows = (get_user_model().objects.filter(pk__in=user_ids)
            .annotate(admin=role(ROLE_ADMIN), operator=role(ROLE_OPERATOR), analyst=role(ROLE_ANALYST))
            .values_list("pk", "is_active", "is_superuser", "admin", "operator", "analyst"))
    active = {pk: (superuser or admin, operator, analyst) for pk, is_active, superuser, admin, operator, analyst in rows
              if is_active}
    inactive = set(user_ids) - set(active)
    if group == OPERATORS_GROUP:
        return {pk for pk, (admin, operator, _) in active.items() if admin or operator}, inactive
    if group.startswith(USER_GROUP_PREFIX):
        return {pk for pk in active if group == f"{USER_GROUP_PREFIX}{pk}"}, inactive
    case_id = group.removeprefix(CASE_GROUP_PREFIX)
    if not group.startswith(CASE_GROUP_PREFIX) or not case_id.isdigit():
        return set(), inactive
    case = Case.objects.filter(pk=int(case_id)).values_list("created_by_id", flat=True)
    if not case.exists():
        return set(), inactive
    members = set(CaseMember.objects.filter(case_id=int(case_id), user_id__in=active).values_list("user_id", flat=True))
    creator = case.first()
    return {pk for pk, (admin, _, analyst) in active.items()
            if admin or (analyst and (pk == creator or pk in members))}, inactive

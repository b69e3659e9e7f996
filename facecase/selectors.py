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

"""Reads of footage, sightings and alerts, filtered by what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from facecase.roles import is_admin, is_operator
from facecase.selectors import case_list_for_user
from footage.models import Alert, Footage, JobLogLine, Sighting


def footage_list_for_user(user: Any) -> QuerySet[Footage]:
    return Footage.objects.filter(case__in=case_list_for_user(user)).select_related("case")


def footage_get_for_user(user: Any, footage_id: int) -> Footage | None:
    return footage_list_for_user(user).filter(pk=footage_id).first()


def footage_log(footage: Footage, after_seq: int = 0) -> QuerySet[JobLogLine]:
    return footage.log_lines.filter(seq__gt=after_seq).order_by("seq")


def alert_list_for_user(user: Any) -> QuerySet[Alert]:
    """Operators and admins see every alert; analysts see alerts raised on their cases' footage."""
    alerts = Alert.objects.select_related("suspect", "footage", "sighting", "reviewed_by")
    if is_admin(user) or is_operator(user):
        return alerts
    return alerts.filter(footage__case__in=case_list_for_user(user))


def alert_list_for_operator(user: Any) -> QuerySet[Alert]:
    return alert_list_for_user(user).filter(status=Alert.Status.NEW) if is_operator(user) else Alert.objects.none()


def sighting_list_for_user(user: Any) -> QuerySet[Sighting]:
    """Sightings of visible footage; operators also see every sighting that raised an alert (to review it)."""
    visible = Q(footage__case__in=case_list_for_user(user))
    if is_admin(user):
        return Sighting.objects.all()
    if is_operator(user):
        visible |= Q(alerts__isnull=False)
    return Sighting.objects.filter(visible).distinct()

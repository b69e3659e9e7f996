"""Reads of footage, sightings and alerts, filtered by what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery

from facecase.models import Case
from facecase.roles import is_admin, is_operator
from facecase.selectors import case_list_for_user
from facecase.ui import day_end, day_start
from footage.models import Alert, Footage, JobLogLine, Sighting


def footage_list_for_user(user: Any) -> QuerySet[Footage]:
    return Footage.objects.filter(case__in=case_list_for_user(user)).select_related("case")


def footage_get_for_user(user: Any, footage_id: int) -> Footage | None:
    return footage_list_for_user(user).filter(pk=footage_id).first()


def footage_log(footage: Footage, after_seq: int = 0) -> QuerySet[JobLogLine]:
    return footage.log_lines.filter(seq__gt=after_seq).order_by("seq")


def alert_list_for_user(user: Any) -> QuerySet[Alert]:
    """Operators and admins see every alert; analysts see alerts raised on their cases' footage and cameras."""
    alerts = Alert.objects.select_related("suspect", "footage", "sighting", "reviewed_by")
    if is_admin(user) or is_operator(user):
        return alerts
    cases = case_list_for_user(user)
    return alerts.filter(Q(footage__case__in=cases) | Q(camera__case__in=cases))


def alerts_filtered(alerts: QuerySet[Alert], filters: dict[str, Any]) -> QuerySet[Alert]:
    """The API's alert filters, already validated: ``status``, ``suspect``/``case``/``camera``/``footage`` ids,
    ``created_after``/``created_before`` datetimes. Missing keys do not filter."""
    if filters.get("status"):
        alerts = alerts.filter(status=filters["status"])
    for key in ("suspect", "camera", "footage"):
        if key in filters:
            alerts = alerts.filter(**{f"{key}_id": filters[key]})
    if "case" in filters:
        alerts = alerts.filter(Q(footage__case_id=filters["case"]) | Q(camera__case_id=filters["case"]))
    if "created_after" in filters:
        alerts = alerts.filter(created_at__gte=filters["created_after"])
    if "created_before" in filters:
        alerts = alerts.filter(created_at__lt=filters["created_before"])
    return alerts


def alert_list_for_operator(user: Any) -> QuerySet[Alert]:
    return alert_list_for_user(user).filter(status=Alert.Status.NEW) if is_operator(user) else Alert.objects.none()


def sighting_list_for_user(user: Any) -> QuerySet[Sighting]:
    """Sightings of visible footage and those attached to visible cases; operators also see every sighting that
    raised an alert (to review it)."""
    cases = case_list_for_user(user)
    visible = (Q(footage__case__in=cases) | Q(camera__case__in=cases)
               | Q(case_attachments__case__in=cases))  # attached by "add to case"
    if is_admin(user):
        return Sighting.objects.all()
    if is_operator(user):
        visible |= Q(alerts__isnull=False)
    return Sighting.objects.filter(visible).distinct()


# --- pages (operator queue, review, case gallery, search) -----------------------------------------------


ALERT_FILTERS = ("status", "suspect", "case", "camera", "date_from", "date_to")


def sighting_get_for_user(user: Any, sighting_id: int) -> Sighting | None:
    return sighting_list_for_user(user).filter(pk=sighting_id).first()


def alert_queue_for_user(user: Any, filters: dict[str, str] | None = None) -> QuerySet[Alert]:
    """The alert queue with the page's filters applied (``status``, ``suspect`` id or name/external id, ``case`` id,
    ``camera``
    name or footage file name, ``date_from``/``date_to`` as YYYY-MM-DD). Unknown or empty filters are ignored."""
    filters = {key: value for key, value in (filters or {}).items() if key in ALERT_FILTERS and value}
    alerts = alert_list_for_user(user).select_related("footage__case").defer(
        "sighting__enhancement_records", "sighting__raw_scores", "sighting__enhanced_scores",
        "sighting__top_candidates", "sighting__track_frames",
    )
    if filters.get("status") in Alert.Status.values:
        alerts = alerts.filter(status=filters["status"])
    suspect = str(filters.get("suspect", "")).strip()
    if suspect.isdigit():
        alerts = alerts.filter(suspect_id=int(suspect))
    elif suspect:
        alerts = alerts.filter(Q(suspect__name__icontains=suspect) | Q(suspect__external_id__iexact=suspect))
    if str(filters.get("case", "")).isdigit():
        alerts = alerts.filter(Q(footage__case_id=int(filters["case"])) | Q(camera__case_id=int(filters["case"])))
    if filters.get("camera"):
        camera = filters["camera"]
        alerts = alerts.filter(Q(camera_name__icontains=camera) | Q(footage__original_name__icontains=camera))
    try:
        if filters.get("date_from"):
            alerts = alerts.filter(created_at__gte=day_start(filters["date_from"]))
        if filters.get("date_to"):
            alerts = alerts.filter(created_at__lt=day_end(filters["date_to"]))
    except ValueError:
        return alerts.none()  # not a date: nothing matches, rather than an error page
    return alerts.order_by("-created_at", "-id")


def alert_get_for_user(user: Any, alert_id: int) -> Alert | None:
    return alert_list_for_user(user).select_related("footage__case", "registry_version").filter(pk=alert_id).first()


def with_track_numbers(sightings: QuerySet[Sighting]) -> QuerySet[Sighting]:
    """Annotate ``track_number``: the sighting's place (1..n) among its footage's tracks in track order. The stored
    ``track_id`` is the analysis' own (it jumps, e.g. 0, 1, 3600), so pages show this number instead; it does not
    depend on the filter of the page that shows it."""
    earlier = Sighting.objects.filter(footage_id=OuterRef("footage_id"), track_id__lte=OuterRef("track_id")).order_by()
    count = earlier.values("footage_id").annotate(n=Count("pk")).values("n")
    return sightings.annotate(track_number=Subquery(count, output_field=IntegerField()))


TILE_RELATED = ("best_suspect", "footage__case", "camera", "registry_version")
TILE_DEFERRED = ("enhancement_records", "raw_scores", "enhanced_scores", "top_candidates", "track_frames", "embedding")


def sighting_tiles(sightings: QuerySet[Sighting]) -> QuerySet[Sighting]:
    """What a sighting tile shows (templates/sightings/_tile.html), loaded in one query."""
    return with_track_numbers(sightings.select_related(*TILE_RELATED).defer(*TILE_DEFERRED))


def sightings_for_case(case_id: int) -> QuerySet[Sighting]:
    of_case = Sighting.objects.filter(Q(footage__case_id=case_id) | Q(camera__case_id=case_id))
    return sighting_tiles(of_case).order_by("-created_at", "-id")


def sightings_for_footage(footage_id: int) -> QuerySet[Sighting]:
    return sighting_tiles(Sighting.objects.filter(footage_id=footage_id)).order_by("track_id")


def sighting_search_for_user(user: Any, suspect_id: int | None) -> QuerySet[Sighting]:
    """Sightings the user may see, across all their cases, whose best match or any alert is ``suspect_id``."""
    if suspect_id is None:
        return Sighting.objects.none()
    visible = sighting_list_for_user(user)
    # Two narrow id lookups (each uses an index) instead of one OR across a join, which scans every sighting.
    ids = set(visible.filter(best_suspect_id=suspect_id).values_list("pk", flat=True))
    ids |= set(visible.filter(alerts__suspect_id=suspect_id).values_list("pk", flat=True))
    return sighting_tiles(Sighting.objects.filter(pk__in=ids)).order_by("-created_at", "-id")


def can_review(user: Any) -> bool:
    """Who may confirm or dismiss alerts: the one rule for showing the review actions and for accepting them."""
    return bool(user.is_authenticated and user.is_active and user.has_perm("footage.change_alert"))


def alert_cases_for_user(user: Any) -> list[tuple[int, str]]:
    """The cases the user's visible alerts belong to, as (id, reference), for the queue's Case filter (an operator
    is no member of the cases, so the cases they may open would leave the filter empty)."""
    case_ids = alert_list_for_user(user).order_by().values("footage__case_id")
    return list(Case.objects.filter(pk__in=case_ids).order_by("reference").values_list("pk", "reference"))

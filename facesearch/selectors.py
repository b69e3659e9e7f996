"""Reads for face search and profiles. Every read goes through ``footage.selectors.sighting_list_for_user``: a sighting
the user may not see is never counted, ranked, or shown, and a profile is visible only through its visible
sightings (its size, first and last time are those of the visible ones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import Coalesce

from facecase.ui import day_end, day_start
from facesearch.models import FaceSearch, Profile, ProfileMember
from footage.models import Sighting
from footage.selectors import sighting_list_for_user

SEARCH_FILTERS = ("case", "source", "date_from", "date_to", "min_score")


def filtered_sightings(user: Any, filters: dict[str, Any]) -> QuerySet[Sighting]:
    """The sightings ``user`` may see (``footage.selectors.sighting_list_for_user``, as the sightings pages: an
    analyst sees the footage and cameras of their cases and what was attached to them, an admin everything), narrowed
    by the search filters: ``case`` id (the footage's or the camera's case), ``source`` text in the footage file name
    or the camera name, ``date_from``/``date_to`` YYYY-MM-DD on when the face was seen (a camera sighting's capture
    time, a footage sighting's time of storage). Raises ``ValueError`` for a malformed date."""
    sightings = sighting_list_for_user(user)
    if filters.get("case") not in (None, ""):
        case = int(filters["case"])
        sightings = sightings.filter(Q(footage__case_id=case) | Q(camera__case_id=case))
    if filters.get("source"):
        source = str(filters["source"])
        sightings = sightings.filter(Q(footage__original_name__icontains=source) | Q(camera__name__icontains=source))
    if filters.get("date_from"):
        start = day_start(str(filters["date_from"]))
        sightings = sightings.filter(Q(captured_at__gte=start) | Q(captured_at=None, created_at__gte=start))
    if filters.get("date_to"):
        end = day_end(str(filters["date_to"]))
        sightings = sightings.filter(Q(captured_at__lt=end) | Q(captured_at=None, created_at__lt=end))
    return sightings


def seen_at() -> Coalesce:
    """When the face was seen: a camera sighting's capture time, else when the sighting was stored."""
    return Coalesce("captured_at", "created_at")


def sighting_case_id(sighting: Sighting) -> int | None:
    """The case a sighting belongs to: its footage's, or its camera's (None: a camera attached to no case)."""
    return sighting.footage.case_id if sighting.footage_id else sighting.camera.case_id


def visible_ids(user: Any, filters: dict[str, Any], ids: list[int]) -> set[int]:
    return set(filtered_sightings(user, filters).filter(pk__in=ids).values_list("pk", flat=True))


def sighting_for_user(user: Any, pk: int) -> Sighting | None:
    return sighting_list_for_user(user).filter(pk=pk).select_related("footage__case", "camera__case").first()


def face_search_get_for_user(user: Any, pk: int) -> FaceSearch | None:
    """Admins may open any search; others only their own."""
    from facecase.roles import is_admin

    searches = FaceSearch.objects.all() if is_admin(user) else FaceSearch.objects.filter(created_by=user)
    return searches.filter(pk=pk).first()


@dataclass
class ProfileRow:
    profile: Profile
    sightings: int
    first_seen: Any
    last_seen: Any
    cases: int


def profile_list_for_user(user: Any, status: str | None = Profile.Status.ACTIVE) -> list[ProfileRow]:
    """Profiles with at least one sighting the user may see, biggest first, with the visible figures only."""
    members = ProfileMember.objects.filter(sighting__in=sighting_list_for_user(user).values("pk"))
    if status:
        members = members.filter(profile__status=status)
    seen = Coalesce("sighting__captured_at", "sighting__created_at")
    case = Coalesce("sighting__footage__case", "sighting__camera__case")
    stats = (members.values("profile").annotate(n=Count("id"), first=Min(seen), last=Max(seen),
                                                 cases=Count(case, distinct=True))
             .order_by("-n", "-last", "profile"))
    profiles = Profile.objects.in_bulk([row["profile"] for row in stats])
    return [ProfileRow(profiles[row["profile"]], row["n"], row["first"], row["last"], row["cases"]) for row in stats]


def profile_get_for_user(user: Any, pk: int) -> Profile | None:
    """A profile the user may see (one of its sightings is visible to them); merged profiles too (to follow them)."""
    visible = sighting_list_for_user(user).values("pk")
    if not ProfileMember.objects.filter(profile_id=pk, sighting__in=visible).exists():
        return None
    return Profile.objects.filter(pk=pk).select_related("suspect", "merged_into").first()


def profile_appearances(user: Any, profile: Profile) -> QuerySet[Sighting]:
    """The profile's visible sightings in the order they were seen (``seen_at``): the timeline across footage and
    cameras."""
    return (sighting_list_for_user(user).filter(profile_member__profile=profile)
            .select_related("footage__case", "camera__case", "profile_member")
            .defer("enhancement_records", "raw_scores", "enhanced_scores", "top_candidates", "track_frames")
            .annotate(seen_at=seen_at()).order_by("seen_at", "footage_id", "first_ts", "pk"))


def attachments_for_case(user: Any, case: Any) -> list[Any]:
    """Sightings attached to ``case`` by "add to case", newest first. The case page checked that ``user`` may see the
    case, and whoever sees a case sees what is attached to it (``footage.selectors.sighting_list_for_user``)."""
    from facesearch.models import CaseSighting

    return list(CaseSighting.objects.filter(case=case)
                .select_related("sighting__footage__case", "sighting__camera__case", "added_by")
                .order_by("-added_at")[:48])

"""Reads of the suspect registry, for the pages, the API and the other apps (who may see what is decided by the
callers' role checks: the registry is for admins; other apps read names of suspects their alerts point at)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from suspects.enrolment import registry_pending_changes
from suspects.models import RegistryRebuild, RegistryVersion, Suspect, SuspectPhoto


def suspect_list(query: str = "", status: str = "") -> QuerySet[Suspect]:
    """The registry page's list: with photo counts and each photo's crop, filtered by name/external id and status."""
    suspects = Suspect.objects.annotate(photo_count=Count("photos")).prefetch_related(
        Prefetch("photos", queryset=SuspectPhoto.objects.only("pk", "suspect_id", "crop").order_by("id"))
    )
    if query:
        suspects = suspects.filter(Q(name__icontains=query) | Q(external_id__icontains=query))
    if status in Suspect.Status.values:
        suspects = suspects.filter(status=status)
    return suspects.order_by("name", "pk")


def suspect_get(pk: int) -> Suspect | None:
    return Suspect.objects.filter(pk=pk).first()


def suspect_search(query: str) -> QuerySet[Suspect]:
    """Suspects whose name contains ``query`` or whose external id is exactly it, by name."""
    return (Suspect.objects.filter(Q(name__icontains=query) | Q(external_id__iexact=query))
            .only("pk", "name", "external_id", "status").order_by("name"))


def suspects_by_id(ids: list[Any]) -> dict[Any, Suspect]:
    return Suspect.objects.in_bulk(ids)


def suspect_count() -> int:
    return Suspect.objects.count()


def suspect_photo_get(pk: int) -> SuspectPhoto | None:
    return SuspectPhoto.objects.select_related("suspect").filter(pk=pk).first()


def suspect_photo_get_for_user(user: Any, pk: int) -> SuspectPhoto | None:
    """A photo for the media view: only for those who may view registry photos."""
    if not user.has_perm("suspects.view_suspectphoto"):
        return None
    return SuspectPhoto.objects.filter(pk=pk).first()


def registry_version_latest() -> RegistryVersion | None:
    """The newest registry version, whatever its status (``RegistryVersion`` orders by number, newest first)."""
    return RegistryVersion.objects.first()


def registry_status() -> dict[str, Any]:
    """What an admin needs to trust the registry: the version alerts are matched against, when it was built,
    whether changes wait to be built, and how the newest rebuild request went (queued, running, failed and why)."""
    version = RegistryVersion.objects.filter(status=RegistryVersion.Status.READY).order_by("-number").first()
    last = RegistryRebuild.objects.select_related("version", "requested_by").order_by("-id").first()
    active = RegistryRebuild.objects.filter(
        status__in=[RegistryRebuild.Status.QUEUED, RegistryRebuild.Status.RUNNING]).order_by("id").first()
    return {"version": version, "pending": registry_pending_changes(), "last_rebuild": last, "active_rebuild": active}

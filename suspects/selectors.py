"""Reads of the suspect registry for pages and the API."""

from __future__ import annotations

from typing import Any

from suspects.enrolment import registry_pending_changes
from suspects.models import RegistryRebuild, RegistryVersion


def registry_status() -> dict[str, Any]:
    """What an admin needs to trust the registry: the version alerts are matched against, when it was built,
    whether changes wait to be built, and how the newest rebuild request went (queued, running, failed and why)."""
    version = RegistryVersion.objects.filter(status=RegistryVersion.Status.READY).order_by("-number").first()
    last = RegistryRebuild.objects.select_related("version", "requested_by").order_by("-id").first()
    active = RegistryRebuild.objects.filter(
        status__in=[RegistryRebuild.Status.QUEUED, RegistryRebuild.Status.RUNNING]).order_by("id").first()
    return {"version": version, "pending": registry_pending_changes(), "last_rebuild": last, "active_rebuild": active}

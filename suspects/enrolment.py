"""The wiring that keeps the registry's gallery current: registry changes (photos added, removed, re-chosen;
suspects removed) schedule a rebuild on the queue after the transaction commits, so the web request never waits
for the embedder; each request is a ``RegistryRebuild`` row the registry page shows.

Photo enrolment is ``suspects.photo_enrolment``; building and loading galleries is ``suspects.gallery``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from suspects.gallery import gallery_arrays, gallery_digest, registry_rebuild
from suspects.models import RegistryRebuild, RegistryVersion, Suspect, SuspectPhoto
from suspects.photo_enrolment import EMBEDDER

log = logging.getLogger(__name__)


def registry_schedule_rebuild(reason: str, *, actor: Any = None) -> None:
    """Queue a rebuild once the current transaction commits.

    A rebuild already waiting in the queue reads the registry when it runs, so it covers this change too and no
    second one is queued. A broker that cannot be reached marks the request failed with the reason (shown on the
    registry page); the registry rows stand, and "rebuild now" or ``manage.py reindex_suspects`` builds them.
    """
    transaction.on_commit(lambda: registry_rebuild_request(reason=reason, actor=actor))


def registry_rebuild_request(*, reason: str, actor: Any = None) -> RegistryRebuild:
    """Record a rebuild request and put it on the queue (or return the one already waiting)."""
    waiting = RegistryRebuild.objects.filter(status=RegistryRebuild.Status.QUEUED).order_by("id").first()
    if waiting is not None:  # it reads the registry when it runs, so it covers this change: just say so on it
        if reason not in waiting.reason:
            waiting.reason = f"{waiting.reason}; {reason}"[-500:]
            RegistryRebuild.objects.filter(pk=waiting.pk).update(reason=waiting.reason)
        return waiting
    request = RegistryRebuild.objects.create(reason=reason[:500], requested_by=actor)
    try:
        from django_q.tasks import async_task

        async_task("suspects.enrolment.registry_rebuild_task", request.pk, task_name=f"registry-rebuild-{request.pk}")
    except Exception as exc:  # the queue is down: say so where admins look
        log.warning("could not queue registry rebuild %s (%s)", request.pk, reason, exc_info=True)
        RegistryRebuild.objects.filter(pk=request.pk).update(
            status=RegistryRebuild.Status.FAILED, finished_at=timezone.now(),
            error=f"could not be queued: {type(exc).__name__}: {exc}")
        request.refresh_from_db()
    return request


def registry_rebuild_task(request_id: int | str) -> str:
    """The worker's side: claim the request (so a duplicate delivery does nothing), rebuild, record the outcome."""
    if isinstance(request_id, str) and not request_id.isdigit():  # a task queued by an older release: a reason
        version = registry_rebuild(reason=request_id)
        return f"v{version.number}" if version else "unchanged"
    claimed = RegistryRebuild.objects.filter(pk=int(request_id), status=RegistryRebuild.Status.QUEUED).update(
        status=RegistryRebuild.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return "not queued (already run or cancelled)"
    request = RegistryRebuild.objects.get(pk=int(request_id))
    try:
        version = registry_rebuild(reason=request.reason)
    except Exception as exc:
        RegistryRebuild.objects.filter(pk=request.pk).update(
            status=RegistryRebuild.Status.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}")
        raise
    RegistryRebuild.objects.filter(pk=request.pk).update(
        status=RegistryRebuild.Status.DONE, finished_at=timezone.now(), version=version)
    return f"v{version.number}" if version else "unchanged"


# Registry changes schedule a rebuild. The receivers live at module level: Django holds receivers by weak
# reference, and functions defined inside a setup function were collected as soon as it returned, so no rebuild
# was ever queued (issue 13). ``connect_signals`` is called from ``SuspectsConfig.ready``.
_ENROLMENT_FIELDS = frozenset({"embedding", "face_box", "embedder", "index_error", "crop"})


def _photo_saved(sender: Any, instance: SuspectPhoto, created: bool, update_fields: Any = None, **kw: Any) -> None:
    # Saves that enrolment itself makes (embedding, crop, error) must not schedule yet another rebuild.
    if update_fields and set(update_fields) <= _ENROLMENT_FIELDS and (instance.embedding or instance.index_error):
        return
    registry_schedule_rebuild(f"photo {instance.pk} of suspect {instance.suspect_id} "
                              f"{'added' if created else 'changed'}")


def _photo_deleted(sender: Any, instance: SuspectPhoto, **kw: Any) -> None:
    registry_schedule_rebuild(f"photo {instance.pk} of suspect {instance.suspect_id} removed")


def _suspect_deleted(sender: Any, instance: Suspect, **kw: Any) -> None:
    registry_schedule_rebuild(f"suspect {instance.pk} removed")


def connect_signals() -> None:
    """Rebuild in the background when the registry changes. Strong references, so nothing can collect them."""
    from django.db.models.signals import post_delete, post_save

    post_save.connect(_photo_saved, sender=SuspectPhoto, weak=False, dispatch_uid="facecase-enrol-photo-saved")
    post_delete.connect(_photo_deleted, sender=SuspectPhoto, weak=False, dispatch_uid="facecase-enrol-photo-deleted")
    post_delete.connect(_suspect_deleted, sender=Suspect, weak=False, dispatch_uid="facecase-enrol-suspect-deleted")


def registry_pending_changes() -> dict[str, Any]:
    """What the newest ready gallery does not hold yet: photos waiting to be embedded, or a gallery that differs
    from the enrolled photos (added, removed or re-chosen since the last build)."""
    waiting = (SuspectPhoto.objects.filter(embedding__isnull=True, index_error="")
               | SuspectPhoto.objects.exclude(embedder=EMBEDDER).filter(index_error="")).distinct().count()
    vectors, labels, ids = gallery_arrays()
    latest = RegistryVersion.objects.filter(status=RegistryVersion.Status.READY).order_by("-number").first()
    built = latest.details.get("content_sha256") if latest is not None else gallery_digest(
        np.zeros((0, 128), np.float32), [], [])
    outdated = gallery_digest(vectors, labels, ids) != built
    return {"photos_waiting": waiting, "gallery_outdated": outdated, "pending": bool(waiting) or outdated}

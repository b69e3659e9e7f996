"""Write paths for the suspect registry. Every change records an audit event in the same transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from facecase.files import check_image, store_private_upload
from facecase.services import audit_record, audited_update
from suspects.face_check import FaceCheck, check_path, check_upload, face_verdict
from suspects.models import Suspect, SuspectPhoto

_SUSPECT_EDITABLE = ("name", "external_id", "status", "notes")


@transaction.atomic
def suspect_create(
    *, actor: Any, name: str, external_id: str, status: str = Suspect.Status.PERSON_OF_INTEREST, notes: str = ""
) -> Suspect:
    suspect = Suspect(name=name.strip(), external_id=external_id.strip(), status=status, notes=notes, created_by=actor)
    suspect.full_clean()
    suspect.save()
    audit_record(actor=actor, verb="create", obj=suspect, details={"name": suspect.name, "status": suspect.status})
    return suspect


@transaction.atomic
def suspect_update(*, actor: Any, suspect: Suspect, **fields: Any) -> Suspect:
    audited_update(actor=actor, obj=suspect, fields=fields, editable=_SUSPECT_EDITABLE)
    return suspect


@transaction.atomic
def suspect_update_with_reason(*, actor: Any, suspect: Suspect, reason: str, **fields: Any) -> Suspect:
    """The registry page's edit: the audited update and, when the status changed, a ``status_change`` event with
    the reason the admin gave (from, to, reason)."""
    previous = suspect.status
    suspect_update(actor=actor, suspect=suspect, **fields)
    if suspect.status != previous:
        audit_record(actor=actor, verb="status_change", obj=suspect,
                     details={"from": previous, "to": suspect.status, "reason": reason})
    return suspect


def suspect_photo_face_check(*, upload: Any) -> FaceCheck:
    """The inline face check of a photo about to be added through the web form: ``ValidationError`` when it is not a
    readable image or holds no face; several faces pass (the admin chooses one next). The same rule
    (``face_verdict``) as ``suspect_photo_add(check_face=True)`` applies on the stored bytes, for the REST API too."""
    check = check_upload(upload)
    face_verdict(check, choose_later=True)
    return check


@transaction.atomic
def suspect_delete(*, actor: Any, suspect: Suspect) -> None:
    """Delete a suspect who never raised an alert. One with alerts stays (the alerts are evidence): set the
    status to cleared instead."""
    if suspect.alerts.exists():
        raise ValidationError(
            f"{suspect.name} has alerts on record and cannot be deleted; set the status to cleared instead",
            code="has_alerts",
        )
    files = [photo.image.name for photo in suspect.photos.all()] + [
        photo.crop.name for photo in suspect.photos.all() if photo.crop
    ]
    audit_record(
        actor=actor, verb="delete", obj=suspect,
        details={"name": suspect.name, "external_id": suspect.external_id, "photos": len(files)},
    )
    storage = SuspectPhoto._meta.get_field("image").storage
    suspect.delete()
    # Files go only once the rows are really gone.
    transaction.on_commit(lambda: [storage.delete(name) for name in files])


def suspect_photo_add(*, actor: Any, suspect: Suspect, upload: UploadedFile, check_face: bool = False,
                      face_box: Any = None, choose_later: bool = False) -> SuspectPhoto:
    """Store a reference photo (checked to be an image by its content). Adding the same bytes twice returns the
    existing photo, so imports are idempotent.

    ``check_face`` applies the face check of the interactive paths (web form and REST API,
    ``suspects.face_check.face_verdict``) to the stored bytes: no face is refused; several faces need ``face_box``
    (or ``choose_later``: the web form asks which one next). A chosen box is recorded as the face enrolment embeds.
    The bulk import leaves this off: a photo without a usable face is marked by enrolment instead."""
    stored = store_private_upload(upload, subdir=f"suspects/{suspect.pk}")
    try:
        check_image(stored.path)
        chosen = None
        if check_face:
            chosen = face_verdict(check_path(str(stored.path)), face_box=face_box, choose_later=choose_later)
        existing = SuspectPhoto.objects.filter(suspect=suspect, sha256=stored.sha256).first()
        if existing is not None:
            stored.discard()
            return existing
        with transaction.atomic():
            photo = SuspectPhoto(
                suspect=suspect, original_name=stored.original_name, sha256=stored.sha256, uploaded_by=actor
            )
            if face_box is not None and chosen is not None:
                photo.face_box = list(chosen)
            photo.image.name = stored.name
            photo.save()
            audit_record(
                actor=actor, verb="add_photo", obj=suspect,
                details={"photo_id": photo.pk, "sha256": photo.sha256, "name": photo.original_name},
            )
    except Exception:
        stored.discard()
        raise
    return photo


@transaction.atomic
def suspect_photo_remove(*, actor: Any, photo: SuspectPhoto) -> None:
    """Remove a reference photo and its derived crop; the registry must be reindexed to forget its embedding."""
    suspect = photo.suspect
    files = [name for name in (photo.image.name, photo.crop.name if photo.crop else "") if name]
    audit_record(
        actor=actor, verb="remove_photo", obj=suspect,
        details={"photo_id": photo.pk, "sha256": photo.sha256, "name": photo.original_name},
    )
    storage = SuspectPhoto._meta.get_field("image").storage
    photo.delete()
    transaction.on_commit(lambda: [storage.delete(name) for name in files])


@transaction.atomic
def suspect_photo_choose_face(*, actor: Any, photo: SuspectPhoto, box: list[int]) -> SuspectPhoto:
    """Record which face of a photo with several is the suspect's; the stored embedding no longer matches, so
    it is cleared for the next reindex."""
    if len(box) != 4 or any(not isinstance(v, int) or v < 0 for v in box) or box[2] == 0 or box[3] == 0:
        raise ValueError(f"face box must be four non-negative ints (x, y, w, h), got {box!r}")
    photo.face_box = list(box)
    photo.embedding = None
    photo.index_error = ""
    photo.save(update_fields=["face_box", "embedding", "index_error"])
    audit_record(actor=actor, verb="choose_face", obj=photo.suspect, details={"photo_id": photo.pk, "box": box})
    return photo


def registry_rebuild_now(*, actor: Any) -> Any:
    """An admin asks for a rebuild (after a failure, or to pick up changes at once); audited."""
    from suspects.enrolment import registry_rebuild_request

    request = registry_rebuild_request(reason=f"requested by {actor.get_username()}", actor=actor)
    audit_record(actor=actor, verb="registry_rebuild_request", obj=request,
                 details={"status": request.status, "error": request.error})
    return request

"""Registry enrolment: find the one face in each suspect photo, embed it, and build versioned galleries.

A photo is enrolled when its face is found and embedded (``SuspectPhoto.embedding``, ``face_box``, ``crop``).
A photo with no face is refused with a clear ``index_error``; one with several faces asks which one (the
platform's ``suspect_photo_choose_face`` records the choice, and the next reindex embeds that face).

Matching always uses one consistent registry: :func:`registry_rebuild` writes every enrolled vector of every
suspect into an immutable gallery file (``registry/v<N>/gallery.npz`` in private storage, sha256 recorded) and
marks a new ``RegistryVersion`` ready; the analysis loads the latest ready version once per footage and records
it on each sighting and alert. Registry changes (photos added, removed, re-chosen; suspect status) schedule a
rebuild on the queue after the transaction commits, so the web request never waits for the embedder.

Gallery labels are suspect primary keys as strings. Cleared suspects stay in the gallery (so a cleared person is
recognised as themselves rather than mistaken for someone else); the alerting code never alerts on them.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from facecase.files import sha256_of_path, verified_path
from facecase.services import audit_record
from suspects.models import RegistryRebuild, RegistryVersion, Suspect, SuspectPhoto

log = logging.getLogger(__name__)

EMBEDDER = "dlib_resnet_v1"  # recorded on each photo: a different embedder means the photo must be re-embedded
GALLERY_DIR = "registry"


class EnrolmentError(ValidationError):
    """The photo cannot be enrolled as it is; the message says what to do."""


@dataclass
class EnrolResult:
    photo: SuspectPhoto
    faces: list[tuple[int, int, int, int]]
    enrolled: bool
    message: str


def read_photo(photo: SuspectPhoto) -> np.ndarray:
    """The photo as upright ``uint8`` BGR after re-checking its sha256, decoded exactly as the face check decodes it
    (``enhancement.imageio``: EXIF orientation applied, alpha dropped), so a chosen face box means the same pixels."""
    from enhancement.imageio import decode_image

    return decode_image(verified_path(photo.image, photo.sha256))


def find_faces(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Faces large enough to be a reference, biggest first.

    Haar misses faces that fill a tight crop (no forehead or chin margin), so a miss is retried on the photo padded
    by replicating its border; boxes are mapped back and clipped. Faces under a third of the largest one's width are
    background people or texture false hits and do not count.
    """
    from enhancement.detect import detect_faces

    h, w = image.shape[:2]
    min_size = max(24, min(h, w) // 12)
    boxes = [d.box for d in detect_faces(image, "haar", min_size=min_size)]
    if not boxes:
        py, px = h // 3, w // 3
        padded = cv2.copyMakeBorder(image, py, py, px, px, cv2.BORDER_REPLICATE)
        for d in detect_faces(padded, "haar", min_size=min_size):
            x, y, bw, bh = d.box
            x0, y0 = max(0, x - px), max(0, y - py)
            x1, y1 = min(w, x - px + bw), min(h, y - py + bh)
            if x1 - x0 >= min_size // 2 and y1 - y0 >= min_size // 2:
                boxes.append((x0, y0, x1 - x0, y1 - y0))
    boxes.sort(key=lambda b: -b[2] * b[3])
    if boxes:
        largest = boxes[0][2]
        boxes = [b for b in boxes if b[2] >= largest / 3]
    return boxes


def _crop_png(image: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.25) -> bytes:
    x, y, w, h = box
    x0, y0 = max(0, int(x - margin * w)), max(0, int(y - margin * h))
    x1, y1 = min(image.shape[1], int(x + w + margin * w)), min(image.shape[0], int(y + h + margin * h))
    ok, buf = cv2.imencode(".png", image[y0:y1, x0:x1])
    if not ok:
        raise RuntimeError("could not encode the face crop")
    return buf.tobytes()


def photo_enrol(*, photo: SuspectPhoto, force: bool = False) -> EnrolResult:
    """Embed the photo's face. Idempotent: an enrolled photo with the current embedder is left alone unless ``force``.

    With a face chosen by an admin (``face_box`` set and no embedding), that face is embedded. Otherwise exactly one
    face must be found; ``index_error`` explains a refusal.
    """
    from enhancement.embed import embed_face

    if photo.embedding and photo.embedder == EMBEDDER and not force:
        return EnrolResult(photo, [tuple(photo.face_box)] if photo.face_box else [], True, "already enrolled")
    try:
        image = read_photo(photo)
    except Exception as exc:  # unreadable or tampered file: say so on the photo, never crash the reindex
        photo.index_error = f"photo could not be read: {exc}"
        photo.embedding = None
        photo.save(update_fields=["index_error", "embedding"])
        return EnrolResult(photo, [], False, photo.index_error)
    chosen = photo.face_box if isinstance(photo.face_box, list | tuple) and len(photo.face_box) == 4 else None
    if chosen is not None:  # chosen by an admin among several, or found by an earlier enrolment
        faces = [tuple(int(v) for v in chosen)]
    else:
        faces = find_faces(image)
    if len(faces) != 1:
        if not faces:
            message = "No face found in this photo. Use a clear, front-facing photo of one person."
        else:
            message = f"{len(faces)} faces found — choose the suspect's face."
        photo.index_error = message
        photo.embedding = None
        photo.save(update_fields=["index_error", "embedding"])
        return EnrolResult(photo, faces, False, message)
    box = faces[0]
    vector = np.asarray(embed_face(image, box=box), dtype=np.float32)
    photo.embedding = vector.tobytes()
    photo.face_box = list(box)
    photo.embedder = EMBEDDER
    photo.index_error = ""
    if photo.crop:
        photo.crop.delete(save=False)
    photo.crop.save(f"face-{photo.pk}.png", ContentFile(_crop_png(image, box)), save=False)
    photo.save(update_fields=["embedding", "face_box", "embedder", "index_error", "crop"])
    return EnrolResult(photo, faces, True, "enrolled")


def photo_enrol_or_refuse(*, photo: SuspectPhoto) -> SuspectPhoto:
    """For interactive paths: enrol now or raise :class:`EnrolmentError` with the reason (the photo stays, marked)."""
    result = photo_enrol(photo=photo)
    if not result.enrolled:
        raise EnrolmentError(result.message, code="no_face" if not result.faces else "several_faces")
    return photo


def _gallery_arrays() -> tuple[np.ndarray, list[str], list[int]]:
    photos = (SuspectPhoto.objects.filter(embedding__isnull=False, embedder=EMBEDDER)
              .exclude(index_error__gt="").order_by("suspect_id", "id"))
    vectors, labels, ids = [], [], []
    for photo in photos:
        vectors.append(np.frombuffer(bytes(photo.embedding), dtype=np.float32))
        labels.append(str(photo.suspect_id))
        ids.append(photo.pk)
    array = np.stack(vectors) if vectors else np.zeros((0, 128), np.float32)
    return array, labels, ids


def registry_rebuild(*, reason: str, enrol: bool = True, force: bool = False) -> RegistryVersion | None:
    """Enrol pending photos, then write a new ready ``RegistryVersion`` if the gallery changed (else return None).

    Safe to run concurrently: the version number is claimed by a unique insert, retried on collision.
    """
    if enrol:
        pending = SuspectPhoto.objects.exclude(embedder=EMBEDDER) | SuspectPhoto.objects.filter(embedding__isnull=True)
        for photo in pending.distinct().order_by("id"):
            if photo.index_error and not force and not photo.face_box:
                continue  # refused before and unchanged: the admin must act first
            photo_enrol(photo=photo, force=force)
    vectors, labels, ids = _gallery_arrays()
    digest = _digest(vectors, labels, ids)
    latest = RegistryVersion.objects.filter(status=RegistryVersion.Status.READY).order_by("-number").first()
    if latest is not None and latest.details.get("content_sha256") == digest and not force:
        return None
    buffer = io.BytesIO()
    np.savez(buffer, vectors=vectors, labels=np.array(labels, dtype=str), photo_ids=np.array(ids, dtype=np.int64))
    for _ in range(5):
        number = (RegistryVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                version = RegistryVersion.objects.create(number=number, reason=reason[:500],
                                                         status=RegistryVersion.Status.BUILDING)
            break
        except IntegrityError:
            continue
    else:
        raise RuntimeError("could not claim a registry version number")
    storage = SuspectPhoto._meta.get_field("image").storage
    name = storage.save(f"{GALLERY_DIR}/v{number}/gallery.npz", ContentFile(buffer.getvalue()))
    path = Path(storage.path(name))
    details = {"content_sha256": digest, "gallery_file": name, "embedder": EMBEDDER, "labels": sorted(set(labels))}
    classifier = _train_classifier(vectors, labels, path.parent)
    if classifier:
        details["classifier"] = classifier
    version.gallery_sha256 = sha256_of_path(path)
    version.classifier_path = classifier.get("path", "") if classifier else ""
    version.photo_count = len(ids)
    version.suspect_count = len(set(labels))
    version.details = details
    version.status = RegistryVersion.Status.READY
    version.save()
    audit_record(actor=None, verb="registry_rebuild", obj=version,
                 details={"number": number, "reason": reason, "photos": len(ids), "suspects": len(set(labels))})
    log.info("registry v%s ready: %s photos of %s suspects (%s)", number, len(ids), len(set(labels)), reason)
    return version


def _digest(vectors: np.ndarray, labels: list[str], ids: list[int]) -> str:
    import hashlib

    h = hashlib.sha256()
    h.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    h.update("|".join(labels).encode())
    h.update(",".join(map(str, ids)).encode())
    return h.hexdigest()


def _train_classifier(vectors: np.ndarray, labels: list[str], folder: Path) -> dict[str, Any]:
    """Train the Keras classifier head on the gallery when there are at least two suspects (seconds).

    The open-set decision stays with the calibrated distance threshold; the head is an extra closed-set opinion
    recorded next to the gallery. A failure here never blocks the gallery: it is logged and recorded.
    """
    if len(set(labels)) < 2 or not getattr(settings, "FACECASE_TRAIN_CLASSIFIER", True):
        return {}
    try:
        from enhancement.match import ClassifierHead
    except ImportError:
        return {}
    try:
        head = ClassifierHead().fit(vectors, labels)
        head.save(folder / "classifier")
        weights = folder / "classifier" / "head.weights.h5"
        return {"path": str(folder / "classifier"), "weights_sha256": sha256_of_path(weights),
                "classes": head.classes}
    except Exception as exc:  # a failed head never blocks the gallery; the reason is kept on the version
        log.exception("classifier head training failed")
        return {"error": f"{type(exc).__name__}: {exc}"}


_GALLERY_CACHE: dict[tuple[int, str], Any] = {}


def load_gallery(version: RegistryVersion) -> Any:
    """The gallery of one ready version (``None`` when it is empty). The file's sha256 is checked against the
    version row, so a swapped gallery can never produce an alert."""
    from enhancement.match import Gallery

    key = (version.number, version.gallery_sha256)
    if key not in _GALLERY_CACHE:
        storage = SuspectPhoto._meta.get_field("image").storage
        path = Path(storage.path(version.details["gallery_file"]))
        actual = sha256_of_path(path)
        if actual != version.gallery_sha256:
            raise RuntimeError(f"registry v{version.number} gallery file {path.name} has sha256 {actual}, "
                               f"expected {version.gallery_sha256}; refusing to match against it")
        with np.load(path) as data:
            vectors, labels = data["vectors"].astype(np.float32), [str(v) for v in data["labels"]]
        if len(_GALLERY_CACHE) > 4:
            _GALLERY_CACHE.clear()
        _GALLERY_CACHE[key] = Gallery(vectors, labels) if labels else None
    return _GALLERY_CACHE[key]


def current_gallery() -> tuple[Any, RegistryVersion | None]:
    """The latest ready gallery and its version (``(None, None)`` before the first build)."""
    version = RegistryVersion.objects.filter(status=RegistryVersion.Status.READY).order_by("-number").first()
    if version is None:
        return None, None
    return load_gallery(version), version


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
    if waiting is not None:
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
    vectors, labels, ids = _gallery_arrays()
    latest = RegistryVersion.objects.filter(status=RegistryVersion.Status.READY).order_by("-number").first()
    built = latest.details.get("content_sha256") if latest is not None else _digest(
        np.zeros((0, 128), np.float32), [], [])
    return {"photos_waiting": waiting, "gallery_outdated": _digest(vectors, labels, ids) != built,
            "pending": bool(waiting) or _digest(vectors, labels, ids) != built}

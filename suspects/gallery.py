"""Registry galleries: every enrolled vector of every suspect written into an immutable, versioned file, and read
back for matching.

Matching always uses one consistent registry: :func:`registry_rebuild` writes the gallery
(``registry/v<N>/gallery.npz`` in private storage, sha256 recorded) and marks a new ``RegistryVersion`` ready; the
analysis loads the latest ready version once per footage (:func:`current_gallery`) and records it on each sighting
and alert. Gallery labels are suspect primary keys as strings. Cleared suspects stay in the gallery (so a cleared
person is recognised as themselves rather than mistaken for someone else); the alerting code never alerts on them.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import numpy as np
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max

from enhancement.match import Gallery
from facecase.files import sha256_of_path
from facecase.services import audit_record
from suspects.models import RegistryVersion, SuspectPhoto
from suspects.photo_enrolment import EMBEDDER, photo_enrol

log = logging.getLogger(__name__)

GALLERY_DIR = "registry"


def gallery_arrays() -> tuple[np.ndarray, list[str], list[int]]:
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
    vectors, labels, ids = gallery_arrays()
    digest = gallery_digest(vectors, labels, ids)
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
    version.gallery_sha256 = sha256_of_path(path)
    version.photo_count = len(ids)
    version.suspect_count = len(set(labels))
    version.details = details
    version.status = RegistryVersion.Status.READY
    version.save()
    audit_record(actor=None, verb="registry_rebuild", obj=version,
                 details={"number": number, "reason": reason, "photos": len(ids), "suspects": len(set(labels))})
    log.info("registry v%s ready: %s photos of %s suspects (%s)", number, len(ids), len(set(labels)), reason)
    return version


def gallery_digest(vectors: np.ndarray, labels: list[str], ids: list[int]) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    h.update("|".join(labels).encode())
    h.update(",".join(map(str, ids)).encode())
    return h.hexdigest()


_GALLERY_CACHE: dict[tuple[int, str], Gallery | None] = {}


def load_gallery(version: RegistryVersion) -> Gallery | None:
    """The gallery of one ready version (``None`` when it is empty). The file's sha256 is checked against the
    version row, so a swapped gallery can never produce an alert."""
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


def current_gallery() -> tuple[Gallery | None, RegistryVersion | None]:
    """The latest ready gallery and its version (``(None, None)`` before the first build)."""
    version = RegistryVersion.objects.filter(status=RegistryVersion.Status.READY).order_by("-number").first()
    if version is None:
        return None, None
    return load_gallery(version), version

"""Photo enrolment: find the one face in a suspect photo and embed it (``SuspectPhoto.embedding``, ``face_box``,
``crop``).

A photo with no face is refused with a clear ``index_error``; one with several faces asks which one (the
platform's ``suspect_photo_choose_face`` records the choice, and the next reindex embeds that face).
Images are ``uint8`` BGR, boxes ``(x, y, w, h)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from enhancement.images import encode_png
from facecase.files import verified_path
from suspects.models import SuspectPhoto

EMBEDDER = "dlib_resnet_v1"  # recorded on each photo: a different embedder means the photo must be re-embedded


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
    """Faces large enough to be a reference, biggest first (``enhancement.detect.reference_faces``, which the
    research benchmarks also enrol with)."""
    from enhancement.detect import reference_faces

    return reference_faces(image)


def _crop_png(image: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.25) -> bytes:
    x, y, w, h = box
    x0, y0 = max(0, int(x - margin * w)), max(0, int(y - margin * h))
    x1, y1 = min(image.shape[1], int(x + w + margin * w)), min(image.shape[0], int(y + h + margin * h))
    return encode_png(image[y0:y1, x0:x1])


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

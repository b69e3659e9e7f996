"""The face check of registry photos: how many faces a photo holds, before anyone relies on it.

It decodes the photo as enrolment does (``enhancement.imageio``: upright after the EXIF orientation) and counts faces
exactly as enrolment will (``suspects.photo_enrolment.find_faces``: Haar, milliseconds, in the web process), so the
page's verdict and the reindex's never disagree. Boxes are ``(x, y, w, h)`` in the upright photo's pixels.

:func:`face_verdict` is the one rule every path that adds a photo applies (web form, REST API): not an image, or no
face, is refused; several faces need a chosen box (the web form lets the admin choose after the upload instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from enhancement.imageio import ImageDecodeError, decode_image
from suspects.photo_enrolment import find_faces

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class FaceCheck:
    faces: list[Box]
    width: int
    height: int

    @property
    def count(self) -> int:
        return len(self.faces)

    @property
    def message(self) -> str:
        if self.count == 0:
            return "No face found in this photo. Use a clear, front-facing photo of one person."
        if self.count == 1:
            return "One face found."
        return f"{self.count} faces found — choose the suspect's face."


def _decode(data: bytes) -> np.ndarray | None:
    """The product's one decoder (upright after EXIF orientation), as enrolment reads the same photo."""
    try:
        return decode_image(data)
    except ImageDecodeError:
        return None


def check_image_bytes(data: bytes) -> FaceCheck | None:
    """``None`` when the bytes are not an image OpenCV can read."""
    image = decode_image(data)
    if image is None:
        return None
    faces = [tuple(int(v) for v in box) for box in find_faces(image)]
    return FaceCheck(faces=faces, width=image.shape[1], height=image.shape[0])


def check_upload(upload: Any) -> FaceCheck | None:
    """Read an uploaded file (without consuming it: the store step reads it again)."""
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return check_image_bytes(data)


def check_path(path: str) -> FaceCheck | None:
    with open(path, "rb") as handle:
        return check_image_bytes(handle.read())


MIN_FACE_BOX = 24  # the smallest face enrolment embeds


def face_verdict(check: FaceCheck | None, *, face_box: Any = None, choose_later: bool = False) -> Box | None:
    """The face a new photo enrols: the chosen ``face_box`` (checked to lie in the photo), else the single face
    found, else ``None`` when several were found and ``choose_later``. Raises ``ValidationError`` with the reason."""
    if check is None:
        raise ValidationError("This file is not an image that can be read.", code="not_image")
    if check.count == 0:
        raise ValidationError(check.message, code="no_face")
    if face_box is not None:
        box = _valid_box(face_box, check)
        return box
    if check.count == 1:
        return check.faces[0]
    if choose_later:
        return None
    raise ValidationError(
        f"{check.count} faces found in this photo; say which is the suspect's with face_box "
        f"(x, y, w, h in the upright photo's pixels): " + "; ".join(",".join(map(str, f)) for f in check.faces),
        code="several_faces")


def _valid_box(face_box: Any, check: FaceCheck) -> Box:
    try:
        values = [int(v) for v in face_box]
        if len(values) != 4 or any(str(v).strip() != str(int(v)).strip() for v in face_box):
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationError(f"face_box must be four integers x, y, w, h; got {face_box!r}", code="bad_box") from None
    x, y, w, h = values
    if x < 0 or y < 0 or w < MIN_FACE_BOX or h < MIN_FACE_BOX or x + w > check.width or y + h > check.height:
        raise ValidationError(
            f"face_box {values} must lie inside the {check.width} x {check.height} photo and be at least "
            f"{MIN_FACE_BOX} x {MIN_FACE_BOX}", code="bad_box")
    return (x, y, w, h)

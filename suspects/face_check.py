"""The inline face check of registry photos: how many faces a photo holds, before anyone relies on it.

It counts faces exactly as enrolment will (``suspects.photo_enrolment.find_faces``: Haar, milliseconds, in the web
process), so the page's verdict and the reindex's never disagree. Boxes are ``(x, y, w, h)`` in the photo's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

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
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None


def check_image_bytes(data: bytes) -> FaceCheck | None:
    """``None`` when the bytes are not an image OpenCV can read."""
    image = _decode(data)
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

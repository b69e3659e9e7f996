"""The inline face check of registry photos: how many faces a photo holds, before anyone relies on it.

Haar (``enhancement.detect``) answers in milliseconds in the web process; the reindex later embeds the chosen
face with the full model. Boxes are ``(x, y, w, h)`` in the photo's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from enhancement.detect import Detection, detect_faces


@dataclass(frozen=True)
class FaceCheck:
    faces: list[Detection]
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
    # A face smaller than ~1/12 of the photo is not a usable reference; this also keeps Haar's false hits
    # on textures (hair, clothing) out of the count.
    min_size = max(30, min(image.shape[:2]) // 12)
    faces = detect_faces(image, "haar", min_size=min_size)
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

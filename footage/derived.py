"""Derived media the review page needs but the analysis may not have kept: the full frame of a sighting.

The frame is decoded from the original (after re-checking its SHA-256, as for any read of evidence), written once
next to the sighting's crops and recorded on ``Sighting.frame``; later requests read that file.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from enhancement.imageio import ImageDecodeError, decode_image
from facecase.files import verified_path
from facecase.storage import private_storage
from footage.models import Footage, Sighting


class FrameUnavailable(Exception):
    """The frame cannot be produced (original missing, changed or too short); the message says which."""


def _decode_frame(footage: Footage, index: int) -> object:
    path = str(verified_path(footage.original, footage.sha256))
    if footage.kind == Footage.Kind.IMAGE:
        try:
            image = decode_image(path)  # upright, the pixels the analysis saw
        except ImageDecodeError:
            image = None
    else:
        capture = cv2.VideoCapture(path)
        try:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, image = capture.read()
        finally:
            capture.release()
        image = image if ok else None
    if image is None:
        raise FrameUnavailable(f"frame {index} could not be decoded from {footage.original_name}")
    return image


def sighting_frame_path(sighting: Sighting) -> Path:
    """The sighting's full frame on disk, decoding and storing it the first time it is asked for."""
    storage = private_storage()
    if sighting.frame and storage.exists(sighting.frame.name):
        return Path(storage.path(sighting.frame.name))
    if sighting.footage_id is None:  # a camera's sighting keeps its frame when it is stored, or has none
        raise FrameUnavailable("this live sighting kept no full frame")
    name = f"{sighting.media_folder}/frame-{sighting.best_frame_index}.jpg"
    if not storage.exists(name):
        try:
            image = _decode_frame(sighting.footage, sighting.best_frame_index)
        except FileNotFoundError as exc:
            raise FrameUnavailable("the original footage file is missing") from exc
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise FrameUnavailable("the frame could not be encoded")
        target = Path(storage.path(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(data.tobytes())
        partial.replace(target)  # two requests at once write the same bytes; neither sees half a file
    Sighting.objects.filter(pk=sighting.pk, frame="").update(frame=name)
    return Path(storage.path(name))

"""Face embedder: dlib's ResNet face recognition model (128-d, unit-free Euclidean space) with 5-point alignment.

Conventions: images are ``uint8`` BGR (H, W, 3) and boxes ``(x, y, w, h)`` in image pixels, as elsewhere in the
package; dlib wants RGB, so images are converted here, at the edge. ``box=None`` means the image is already a face
crop and the whole image is the face box. Distances are Euclidean between descriptors (dlib's own convention, where
0.6 is the customary same-person threshold; ours is calibrated, see ``enhancement.match``).

The weights ship in the ``face-recognition-models`` wheel (``enhancement.dlib_models`` finds them). Both models
load lazily, once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np

from .dlib_models import model_path
from .imageio import as_box, as_image

Box = tuple[int, int, int, int]
CHIP_SIZE = 150  # the input size of dlib's ResNet
CHIP_PADDING = 0.25
# "dlib": the dlib-bin wheel (~130-300 ms per face here); "tf": the same network and weights in TensorFlow
# (enhancement.embed_tf; 8-19 ms per face batched or not, descriptors within 1e-6 of dlib's). dlib stays the default
# so a process that never needed TensorFlow does not start importing it; analysis workers can opt in.
BACKEND = os.environ.get("FACECASE_EMBED_BACKEND", "dlib")


@dataclass(frozen=True)
class FaceEmbedding:
    vector: np.ndarray
    box: Box
    landmarks: tuple[tuple[float, float], ...]


@cache
def _models() -> tuple[Any, Any]:
    import dlib

    return dlib.shape_predictor(str(model_path("landmarks"))), dlib.face_recognition_model_v1(str(model_path("resnet")))


def _rgb(image: np.ndarray) -> np.ndarray:
    if image is None or image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError("the embedder expects a uint8 BGR or grey image")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def aligned_chips(image: np.ndarray, boxes: list[Box]) -> tuple[list[np.ndarray], list[tuple]]:
    """5-point alignment: the 150x150 RGB chips the ResNet sees, and the landmarks found in each box."""
    import dlib

    rgb = _rgb(image)
    predictor, _ = _models()
    chips, marks = [], []
    for x, y, w, h in boxes:
        shape = predictor(rgb, dlib.rectangle(int(x), int(y), int(x + w - 1), int(y + h - 1)))
        marks.append(tuple((float(p.x), float(p.y)) for p in shape.parts()))
        chips.append(np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)))
    return chips, marks


def chip_to_image_affine(image: np.ndarray) -> np.ndarray | None:
    """The 2x3 affine map from the aligned chip's pixels to ``image``'s, for the face nearest the image centre.

    The same chip ``aligned_chips`` cuts (dlib's 5-point alignment, ``CHIP_SIZE``, ``CHIP_PADDING``), as a matrix
    so that other images of the same geometry (a blurred or restored copy) can be warped identically. ``None``
    when dlib's HOG detector finds no face.
    """
    import dlib

    rgb = _rgb(image)
    rects = _detector()(rgb, 1)
    if not rects:
        return None
    cy, cx = rgb.shape[0] / 2, rgb.shape[1] / 2
    rect = min(rects, key=lambda r: ((r.left() + r.right()) / 2 - cx) ** 2 + ((r.top() + r.bottom()) / 2 - cy) ** 2)
    predictor, _ = _models()
    details = dlib.get_face_chip_details(predictor(rgb, rect), size=CHIP_SIZE, padding=CHIP_PADDING)
    r, angle = details.rect, details.angle
    centre = np.array([(r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])

    def rotated(x: float, y: float) -> np.ndarray:
        return centre + rotation @ (np.array([x, y]) - centre)

    # dlib maps the rotated rectangle's top-left, top-right and bottom-right corners to the chip's corners.
    tl, tr, br = rotated(r.left(), r.top()), rotated(r.right(), r.top()), rotated(r.right(), r.bottom())
    n = CHIP_SIZE - 1
    return np.stack([(tr - tl) / n, (br - tr) / n, tl], axis=1)


@cache
def _detector() -> Any:
    import dlib

    return dlib.get_frontal_face_detector()


def describe_chips(chips: list[np.ndarray], backend: str | None = None) -> np.ndarray:
    """128-d descriptors of aligned RGB chips, one row per chip (``backend``: "dlib" or "tf", the same network, see
    ``BACKEND``; or "student", the fine-tuned probe embedder of ``enhancement.student``)."""
    if not chips:
        return np.zeros((0, 128), np.float32)
    backend = backend or BACKEND
    if backend == "student":  # the degradation-robust probe embedder (enhancement.student), dlib's space
        from .student import describe_chips_student

        return describe_chips_student(chips)
    if backend == "tf":
        from .embed_tf import describe_chips_tf

        return describe_chips_tf(chips)
    if backend != "dlib":
        raise ValueError(f"unknown embedder backend {backend!r}; use 'dlib', 'tf' or 'student'")
    _, resnet = _models()
    descriptors = resnet.compute_face_descriptor(chips)
    return np.asarray([np.asarray(d) for d in descriptors], dtype=np.float32)


def embed_faces(image: np.ndarray, boxes: list[Box], backend: str | None = None) -> list[FaceEmbedding]:
    as_image(image, grey_ok=True)
    boxes = [as_box(box, image, name="face box") for box in boxes]
    chips, marks = aligned_chips(image, boxes)
    vectors = describe_chips(chips, backend)
    return [FaceEmbedding(v, (int(b[0]), int(b[1]), int(b[2]), int(b[3])), m)
            for v, b, m in zip(vectors, boxes, marks, strict=True)]


def face_chip(image: np.ndarray, box: Box) -> np.ndarray:
    """The aligned 150x150 RGB chip of the face in ``box`` (what every backend describes)."""
    as_image(image, grey_ok=True)
    chips, _ = aligned_chips(image, [as_box(box, image, name="face box")])
    return chips[0]


def embed_face_by(image: np.ndarray, box: Box, backends: Sequence[str | None]) -> list[np.ndarray]:
    """The descriptor of the face in ``box`` by each of ``backends``, from one landmark fit and one aligned chip."""
    chips = [face_chip(image, box)]
    return [describe_chips(chips, backend)[0] for backend in backends]


def embed_face(image: np.ndarray, box: Box | None = None, backend: str | None = None) -> np.ndarray:
    """The 128-d descriptor of the face in ``box`` (the whole image when ``box`` is None)."""
    if box is None:
        box = (0, 0, as_image(image, grey_ok=True).shape[1], image.shape[0])
    return embed_faces(image, [box], backend)[0].vector


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))

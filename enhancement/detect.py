"""Face detection: OpenCV Haar cascade (default) or MTCNN (stronger, slower, gives 5 landmarks).

Conventions: input images are ``uint8`` BGR (H, W, 3) or grey (H, W); boxes are ``(x, y, w, h)`` ints in frame
pixels; landmarks are five ``(x, y)`` points in the order left eye, right eye, nose, mouth left, mouth right
(MTCNN's naming, i.e. from the subject's point of view as the package defines it). Detectors load lazily, once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np

from .imageio import as_box, as_image

Box = tuple[int, int, int, int]
Point = tuple[float, float]
LANDMARK_ORDER = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
DETECTORS = ("haar", "mtcnn")


@dataclass(frozen=True)
class Detection:
    box: Box
    confidence: float
    landmarks: tuple[Point, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"box": list(self.box), "confidence": round(float(self.confidence), 4),
                "landmarks": [list(p) for p in self.landmarks] if self.landmarks else None}


_per_thread = threading.local()


def _haar_cascade() -> cv2.CascadeClassifier:
    """One cascade per thread: ``detectMultiScale`` keeps scratch state in the object, and two live cameras
    detecting at once on a shared one failed OpenCV's ``getScaleData`` assertion."""
    cascade = getattr(_per_thread, "haar", None)
    if cascade is None:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():  # opencv-python-headless>=5 stopped shipping the XML files; we pin <5
            raise RuntimeError(f"Haar cascade could not be loaded from {path}")
        _per_thread.haar = cascade
    return cascade


@cache
def _mtcnn() -> Any:
    from mtcnn import MTCNN  # TensorFlow import is slow: only pay for it when MTCNN is asked for

    return MTCNN(device="CPU:0")


def detect_faces(image: np.ndarray, detector: str = "haar", **params: Any) -> list[Detection]:
    """Find faces; results are sorted by confidence, best first.

    Haar params: ``scale_factor`` (1.1), ``min_neighbors`` (5), ``min_size`` (30, px). The confidence of a Haar box
    is its number of neighbouring raw detections (``levelWeights`` is not meaningful across scales), scaled to
    [0, 1) as n / (n + min_neighbors) so that it sorts like the cascade's own vote count.
    MTCNN params: ``min_face_size`` (20), ``threshold_onet`` (0.8), and any other ``mtcnn`` stage keyword.
    """
    as_image(image, grey_ok=True)
    if detector == "haar":
        return _detect_haar(image, **params)
    if detector == "mtcnn":
        return _detect_mtcnn(image, **params)
    raise ValueError(f"unknown detector {detector!r}; choose one of {DETECTORS}")


def _detect_haar(image: np.ndarray, scale_factor: float = 1.1, min_neighbors: int = 5, min_size: int = 30,
                 equalize: bool = True) -> list[Detection]:
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if equalize:  # the cascade was trained on normalised patches; equalising helps on dark CCTV frames
        grey = cv2.equalizeHist(grey)
    boxes, votes = _haar_cascade().detectMultiScale2(grey, scaleFactor=scale_factor, minNeighbors=min_neighbors,
                                                     minSize=(min_size, min_size))
    detections = [Detection((int(x), int(y), int(w), int(h)), float(n) / (float(n) + max(min_neighbors, 1)))
                  for (x, y, w, h), n in zip(boxes, np.asarray(votes).reshape(-1), strict=True)]
    return sorted(detections, key=lambda d: -d.confidence)


def _detect_mtcnn(image: np.ndarray, min_face_size: int = 20, **params: Any) -> list[Detection]:
    rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)
    # mtcnn 1.0 sizes its image pyramid for min_face_size=20: with a larger value it keeps levels under PNet's
    # 12 px input, PNet fails, and the package returns no faces at all (a 1080p frame with a 300 px face and
    # min_face_size=60 gave 0 faces). The same pyramid is had by shrinking the image ourselves and asking for 20.
    factor = 1.0
    if min_face_size > 20:
        factor = 20.0 / min_face_size
        rgb = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    found = _mtcnn().detect_faces(rgb, min_face_size=min(min_face_size, 20), **params)
    detections = []
    for face in found:
        x, y, w, h = (int(round(v / factor)) for v in face["box"])
        points = tuple((float(face["keypoints"][k][0]) / factor, float(face["keypoints"][k][1]) / factor)
                       for k in LANDMARK_ORDER)
        detections.append(Detection((x, y, w, h), float(face["confidence"]), points))
    return sorted(detections, key=lambda d: -d.confidence)


def crop_box(image: np.ndarray, box: Box, margin: float = 0.0) -> np.ndarray:
    """Crop ``box`` grown by ``margin`` (fraction of its size on each side), clipped to the frame."""
    x, y, w, h = as_box(box, as_image(image, grey_ok=True))
    dx, dy = int(round(w * margin)), int(round(h * margin))
    x0, y0 = max(x - dx, 0), max(y - dy, 0)
    x1, y1 = min(x + w + dx, image.shape[1]), min(y + h + dy, image.shape[0])
    return image[y0:y1, x0:x1].copy()


def iou(a: Box, b: Box) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def reference_faces(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Faces large enough to be a reference photo's subject, biggest first: how enrolment finds the face in a
    suspect's photo (``suspects.photo_enrolment``).

    Haar misses faces that fill a tight crop (no forehead or chin margin), so a miss is retried on the photo padded
    by replicating its border; boxes are mapped back and clipped. Faces under a third of the largest one's width are
    background people or texture false hits and do not count.
    """
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

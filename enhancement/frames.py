"""Rank the frames of a face track by quality and keep only the best few crops.

Conventions: frames and crops are ``uint8`` BGR arrays; boxes are ``(x, y, w, h)`` ints; landmarks are five
(x, y) points (eyes, nose, mouth corners) in frame pixels, or ``None`` when the detector gives none (Haar).

Embedding costs about 130 ms per face here, so each track embeds only its best ``keep`` crops. The score mixes
what makes a crop useful to the embedder: enough pixels, sharp, well exposed and seen from the front. Crops are
kept with a margin around the face so that enhancement and the embedder's own alignment see the whole head.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .imageio import as_box, as_image

Box = tuple[int, int, int, int]

# Weights of the four quality terms; size and sharpness matter most to the dlib embedder (LFW faces are ~100 px).
WEIGHTS = {"size": 0.35, "sharpness": 0.30, "brightness": 0.15, "frontal": 0.20}
FULL_SIZE_PX = 100  # faces this wide or wider get the full size term
SHARPNESS_HALF = 60.0  # variance of the Laplacian (on a 64 px face) that scores 0.5
UNKNOWN_FRONTAL = 0.6  # frontal term when no landmarks exist: Haar's frontal cascade already implies near-frontal


def landmarks_array(landmarks: Any) -> np.ndarray | None:
    """Accept a dict of named points (MTCNN style) or any (5, 2) sequence; return a float (5, 2) array or None."""
    if landmarks is None:
        return None
    if isinstance(landmarks, dict):
        order = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
        if not all(k in landmarks for k in order):
            return None
        landmarks = [landmarks[k] for k in order]
    arr = np.asarray(landmarks, dtype=np.float32)
    return arr if arr.shape == (5, 2) else None


def frontalness(landmarks: Any) -> float | None:
    """1.0 when the nose sits midway between the eyes, falling to 0 as it reaches an eye (a profile)."""
    pts = landmarks_array(landmarks)
    if pts is None:
        return None
    left, right, nose = pts[0], pts[1], pts[2]
    half = np.linalg.norm(right - left) / 2
    if half < 1:
        return 0.0
    mid = (left + right) / 2
    axis = (right - left) / (2 * half)
    offset = abs(float(np.dot(nose - mid, axis)))
    return float(np.clip(1 - offset / half, 0, 1))


@dataclass(frozen=True)
class CropQuality:
    size: float
    sharpness: float
    brightness: float
    frontal: float
    score: float
    face_px: int
    laplacian_var: float
    mean_luma: float


def crop_quality(face: np.ndarray, landmarks: Any = None) -> CropQuality:
    """Score a tight face crop in [0, 1]; ``landmarks`` may be in any frame: only their geometry is used."""
    h, w = as_image(face, name="face crop", grey_ok=True).shape[:2]
    grey = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY) if face.ndim == 3 else face
    # Normalise sharpness for crop size: measured on the face resized to 64 px, so big faces are not favoured twice.
    small = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA)
    lap = float(cv2.Laplacian(small, cv2.CV_64F).var())
    luma = float(grey.mean())
    size = min(1.0, min(w, h) / FULL_SIZE_PX)
    sharp = lap / (lap + SHARPNESS_HALF)
    bright = max(0.0, 1 - abs(luma - 128) / 128)
    front = frontalness(landmarks)
    front = UNKNOWN_FRONTAL if front is None else front
    score = (WEIGHTS["size"] * size + WEIGHTS["sharpness"] * sharp + WEIGHTS["brightness"] * bright
             + WEIGHTS["frontal"] * front)
    return CropQuality(size, sharp, bright, front, score, min(w, h), lap, luma)


def crop_with_margin(frame: np.ndarray, box: Box, margin: float = 0.3) -> tuple[np.ndarray, Box]:
    """Copy the face plus ``margin`` of its size on every side; return the crop and the face box inside it."""
    x, y, w, h = as_box(box, as_image(frame, name="frame", grey_ok=True))
    fh, fw = frame.shape[:2]
    x0, y0 = max(0, int(x - margin * w)), max(0, int(y - margin * h))
    x1, y1 = min(fw, int(x + w + margin * w)), min(fh, int(y + h + margin * h))
    crop = frame[y0:y1, x0:x1].copy()
    return crop, (x - x0, y - y0, w, h)


@dataclass
class Candidate:
    frame_index: int
    timestamp: float
    box: Box  # in frame pixels
    crop: np.ndarray  # with margin
    box_in_crop: Box
    quality: CropQuality
    landmarks: Any = None

    @property
    def weight(self) -> float:
        """Vote weight when matching: face area (sqrt, so one huge frame does not drown the rest) times quality."""
        return float(np.sqrt(self.box[2] * self.box[3]) * self.quality.score)


@dataclass
class BestCrops:
    """Bounded per-track store of the ``keep`` best crops seen so far (a min-heap on score)."""

    keep: int = 3
    margin: float = 0.3
    _heap: list[tuple[float, int, Candidate]] = field(default_factory=list)
    _seq: int = 0  # insertion order, the tie-break between equal scores (a plain int so the store pickles)

    def offer(self, frame: np.ndarray, frame_index: int, timestamp: float, box: Box, landmarks: Any = None) -> bool:
        x, y, w, h = box
        if w < 8 or h < 8:
            return False
        q = crop_quality(frame[max(0, y):y + h, max(0, x):x + w], landmarks)
        if len(self._heap) >= self.keep and q.score <= self._heap[0][0]:
            return False  # not better than the worst kept: skip the copy
        crop, inner = crop_with_margin(frame, box, self.margin)
        self._seq += 1
        item = (q.score, self._seq, Candidate(frame_index, timestamp, box, crop, inner, q, landmarks))
        if len(self._heap) >= self.keep:
            heapq.heapreplace(self._heap, item)
        else:
            heapq.heappush(self._heap, item)
        return True

    def best(self) -> list[Candidate]:
        """Best first."""
        return [c for _, _, c in sorted(self._heap, key=lambda t: (-t[0], t[1]))]

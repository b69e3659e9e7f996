"""Detector passes of the frame loop: the full frame (downscaled), a region around a live track, a moving region.

Each pass returns ``(box, confidence, landmarks | None)`` tuples in pixels of the original frame;
boxes are ``(x, y, w, h)`` ints. Costs that shaped it are in ``loop.py``'s docstring.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..detect import detect_faces
from ..track import iou
from ..video import Box, expand_box
from .config import AnalysisConfig

Found = tuple[Box, float, Any]  # box, confidence, landmarks (tuple of (x, y) points) or None


def nms(detections: list[Found], overlap: float = 0.3) -> list[Found]:
    """Keep the most confident (then the largest) of boxes overlapping by ``overlap`` IoU or more."""
    kept: list[Found] = []
    for det in sorted(detections, key=lambda d: (-d[1], -d[0][2])):
        if all(iou(det[0], k[0]) < overlap for k in kept):
            kept.append(det)
    return kept


class RegionDetector:
    """Full-frame (downscaled), region-of-interest and motion-region detection on top of ``detect_faces``."""

    def __init__(self, config: AnalysisConfig) -> None:
        self.config = config
        self.params = dict(config.detector_params)
        self._clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))

    def _run(self, image: np.ndarray, scale: float, offset: tuple[int, int], min_size: int,
             scale_factor: float | None = None) -> list[Found]:
        params = dict(self.params)
        if self.config.detector == "haar":
            params.setdefault("min_size", min_size)
            if scale_factor:
                params.setdefault("scale_factor", scale_factor)
            if self.config.contrast != "global":
                params.setdefault("equalize", False)
                if self.config.contrast == "clahe":
                    image = self._clahe.apply(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        found: list[Found] = []
        for d in detect_faces(image, detector=self.config.detector, **params):
            x, y, w, h = d.box
            box = (int(x / scale) + offset[0], int(y / scale) + offset[1], int(w / scale), int(h / scale))
            landmarks = None
            if d.landmarks:
                landmarks = tuple((px / scale + offset[0], py / scale + offset[1]) for px, py in d.landmarks)
            found.append((box, float(d.confidence), landmarks))
        return found

    def region(self, frame: np.ndarray, region: Box, scale: float, min_size: int = 20,
               scale_factor: float | None = None) -> list[Found]:
        x, y, w, h = region
        if w < 16 or h < 16:
            return []
        patch = frame[y:y + h, x:x + w]
        if scale != 1.0:
            patch = cv2.resize(patch, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        return self._run(patch, scale, (x, y), min_size, scale_factor)

    def full(self, frame: np.ndarray) -> list[Found]:
        h, w = frame.shape[:2]
        scale = min(1.0, self.config.detect_width / w)
        return self.region(frame, (0, 0, w, h), scale, min_size=max(16, self.config.min_face_px),
                           scale_factor=self.config.full_scale_factor)

    def around(self, frame: np.ndarray, box: Box) -> list[Found]:
        h, w = frame.shape[:2]
        roi = expand_box(box, self.config.roi_factor, w, h)
        scale = min(2.0, self.config.roi_face_px / max(1, box[2]))
        return self.region(frame, roi, scale, min_size=max(16, int(self.config.roi_face_px * 0.5)))

    def moving(self, frame: np.ndarray, motion: Box) -> list[Found]:
        """A moving region away from every track, searched at full-pass scale rather than waiting for that pass."""
        scale = min(1.0, self.config.detect_width / frame.shape[1])
        return self.region(frame, motion, scale, min_size=max(16, self.config.min_face_px),
                           scale_factor=self.config.full_scale_factor)

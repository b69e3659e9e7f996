"""Face detection rate on degraded frames (Haar and MTCNN), reported apart from recognition.

A frame counts as found when some detection overlaps the known LFW face box (scaled to the frame) with
IoU >= ``MIN_IOU``; detections elsewhere are counted as false positives. Detectors run with the product's
default parameters (``enhancement.detect``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enhancement.detect import detect_faces, iou
from enhancement.provenance import image_sha256

from .. import degrade
from .probes import LFW_SIZE, face_box
from .verification import load, probe_seed

MIN_IOU = 0.3


@dataclass
class DetectionRow:
    degradation: str
    frame: str  # "degraded" or "bicubic_up" (the degraded frame upscaled back to 250 px)
    detector: str
    frames: int
    found: int
    false_positives: int
    mean_ms: float

    @property
    def found_rate(self) -> float:
        return self.found / self.frames if self.frames else float("nan")


def _load_cache(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    return json.loads(path.read_text())


def run_detection(images: list[Path], degradations: list[str], detectors: list[str], seed: int,
                  progress: Any = None, cache_path: Path | None = None) -> list[DetectionRow]:
    """``cache_path``: JSON of boxes and times per (frame digest, detector), so a rerun skips MTCNN's ~0.2 s/frame."""
    cache = _load_cache(cache_path)
    rows: dict[tuple[str, str, str], list[float]] = {}
    for i, path in enumerate(images):
        clean = load(path)
        for deg in degradations:
            degraded = degrade.degrade(clean, deg, probe_seed(seed, i, deg))
            frames = {"degraded": degraded.image}
            if degraded.scale < 1:
                frames["bicubic_up"] = degrade.upscale(degraded.image, round(1 / degraded.scale))
            for frame_name, frame in frames.items():
                truth = face_box(frame.shape[1] / LFW_SIZE)
                for detector in detectors:
                    key = f"{image_sha256(frame)}_{detector}"
                    if key not in cache:
                        t0 = time.perf_counter()
                        found = detect_faces(frame, detector)
                        cache[key] = {"boxes": [list(d.box) for d in found],
                                      "ms": (time.perf_counter() - t0) * 1000}
                    boxes = [tuple(b) for b in cache[key]["boxes"]]
                    ms = cache[key]["ms"]
                    hit = any(iou(b, truth) >= MIN_IOU for b in boxes)
                    fps = sum(1 for b in boxes if iou(b, truth) < MIN_IOU)
                    acc = rows.setdefault((deg, frame_name, detector), [0, 0, 0, 0.0])
                    acc[0] += 1
                    acc[1] += int(hit)
                    acc[2] += fps
                    acc[3] += ms
            if progress is not None:
                progress.update(1)
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps(cache))
    return [DetectionRow(d, f, det, int(a[0]), int(a[1]), int(a[2]), a[3] / max(a[0], 1))
            for (d, f, det), a in rows.items()]

"""Which regions of a face crop drove its match score: an occlusion map, model-agnostic.

Conventions: images are ``uint8`` BGR (H, W, 3). ``distance_fn(image) -> float`` is any embedding distance to the
suspect (smaller = more alike), so the method works the same for the raw crop, an enhanced crop or another embedder.

Method (Zeiler & Fergus 2014, occlusion sensitivity): slide a grey square over the crop; for each position
measure how much the distance to the suspect rises when that square is hidden. A region whose hiding pushes the
face away from the suspect is one the match relied on. Each pixel's value is the mean rise over the squares
covering it. Only rises are drawn (red = the match leans on this region); regions whose hiding brings the face
*closer* are reported in ``max_decrease`` but not coloured, so the picture answers one question.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

DistanceFn = Callable[[np.ndarray], float]


@dataclass
class OcclusionMap:
    heat: np.ndarray  # float32 (H, W): mean distance rise when the region is hidden
    base_distance: float
    evaluations: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def max_increase(self) -> float:
        return float(max(self.heat.max(), 0.0))

    @property
    def max_decrease(self) -> float:
        return float(max(-self.heat.min(), 0.0))


def occlusion_map(
    image: np.ndarray, distance_fn: DistanceFn, *, patch_fraction: float = 0.2, stride_fraction: float = 0.1
) -> OcclusionMap:
    """Occlude squares of side ``patch_fraction`` of the shorter side, every ``stride_fraction``, with the
    crop's mean colour (a flat patch carries no face structure, unlike black, which reads as shadow)."""
    if image is None or image.ndim != 3 or image.dtype != np.uint8:
        raise ValueError("occlusion_map expects a uint8 BGR image")
    height, width = image.shape[:2]
    side = min(height, width)
    patch = max(2, int(round(side * patch_fraction)))
    stride = max(1, int(round(side * stride_fraction)))
    fill = image.reshape(-1, 3).mean(axis=0).astype(np.uint8)
    base = float(distance_fn(image))
    total = np.zeros((height, width), np.float64)
    count = np.zeros((height, width), np.float64)
    evaluations = 1
    ys = list(range(0, max(height - patch, 0) + 1, stride))
    xs = list(range(0, max(width - patch, 0) + 1, stride))
    # The last row/column of squares always reaches the edge, so every pixel is covered.
    if ys[-1] + patch < height:
        ys.append(height - patch)
    if xs[-1] + patch < width:
        xs.append(width - patch)
    for y in ys:
        for x in xs:
            occluded = image.copy()
            occluded[y:y + patch, x:x + patch] = fill
            rise = float(distance_fn(occluded)) - base
            evaluations += 1
            total[y:y + patch, x:x + patch] += rise
            count[y:y + patch, x:x + patch] += 1
    heat = (total / np.maximum(count, 1)).astype(np.float32)
    return OcclusionMap(heat=heat, base_distance=base, evaluations=evaluations,
                        params={"method": "occlusion", "patch": patch, "stride": stride, "fill": "mean"})


def render_overlay(image: np.ndarray, result: OcclusionMap, *, size: int = 256, alpha: float = 0.55) -> np.ndarray:
    """The crop enlarged to ``size`` px wide with the rises drawn over it (JET colours, red = relied on most).
    The scale is the map's own maximum, so the picture shows where, and ``max_increase`` says how much."""
    scale = size / image.shape[1]
    out_size = (size, max(1, int(round(image.shape[0] * scale))))
    base = cv2.resize(image, out_size, interpolation=cv2.INTER_CUBIC)
    heat = cv2.resize(np.maximum(result.heat, 0.0), out_size, interpolation=cv2.INTER_LINEAR)
    # Smooth away the square patch edges: the method's resolution is the stride, not the pixel.
    sigma = max(1.0, size * float(result.params.get("stride", 1)) / image.shape[1] / 2)
    heat = cv2.GaussianBlur(heat, (0, 0), sigma)
    peak = float(heat.max())
    normalised = (heat / peak) if peak > 0 else np.zeros_like(heat)
    colours = cv2.applyColorMap((normalised * 255).astype(np.uint8), cv2.COLORMAP_JET)
    weight = (alpha * normalised)[..., None]
    blended = base.astype(np.float32) * (1 - weight) + colours.astype(np.float32) * weight
    return np.clip(blended, 0, 255).astype(np.uint8)

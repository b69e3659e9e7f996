"""Face-crop quality and the policy that decides which enhancement steps run.

Conventions: crops are ``uint8`` BGR (H, W, 3) (grey (H, W) accepted). Measures:

- ``luminance``: mean of the BT.601 luma (0..255) over the crop.
- ``blur``: variance of the Laplacian of the luma, measured on the crop resampled to ``BLUR_SIZE`` x ``BLUR_SIZE``
  and divided by the luma variance. Resampling to one size makes the figure comparable between a 60 px and a 200 px
  face (the raw Laplacian variance grows with resolution); dividing by the contrast keeps a dark-but-sharp face from
  reading as blurred. Lower means blurrier.
- ``size``: the shorter side of the crop in pixels.

The thresholds in ``QualityPolicy`` were chosen from measurements on LFW face crops and degraded copies of them
(``benchmarks/quality_thresholds.py``; numbers in ``docs/enhancement.md``), not guessed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from .imageio import as_image

BLUR_SIZE = 96
STEP_ORDER = ("lime", "deblur", "srcnn")


@dataclass(frozen=True)
class FaceQuality:
    luminance: float
    blur: float
    size: int
    height: int
    width: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _luma(crop: np.ndarray) -> np.ndarray:
    if crop.ndim == 2:
        return crop
    return cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)


def blur_measure(crop: np.ndarray) -> float:
    """Contrast-normalised Laplacian variance at a fixed scale (see the module docstring)."""
    unit = _luma(crop).astype(np.float32) / 255.0
    interp = cv2.INTER_AREA if min(unit.shape) >= BLUR_SIZE else cv2.INTER_CUBIC
    grey = cv2.resize(unit, (BLUR_SIZE, BLUR_SIZE), interpolation=interp)
    contrast = float(grey.var())
    if contrast < 1e-8:  # a flat patch has no detail at all
        return 0.0
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=1)
    return float(lap.var()) / contrast


def measure_quality(crop: np.ndarray) -> FaceQuality:
    as_image(crop, name="face crop", grey_ok=True)
    h, w = crop.shape[:2]
    return FaceQuality(luminance=round(float(_luma(crop).mean()), 3), blur=round(blur_measure(crop), 5),
                       size=int(min(h, w)), height=int(h), width=int(w))


@dataclass(frozen=True)
class QualityPolicy:
    """Thresholds (see ``docs/enhancement.md`` for the measurements behind each default).

    - ``dark_luminance``: faces with mean luma below this get LIME.
    - ``blur_threshold``: faces whose blur measure is below this get deblurred, but only when the face is at least
      ``min_size_for_blur`` px, because on a tiny crop the measure mostly reflects the lack of pixels, which is the
      super-resolution step's job.
    - ``small_size``: faces whose shorter side is below this get super-resolution, with the smallest scale in
      ``sr_scales`` that brings them to ``target_size`` (the largest scale if none does). Only x2 and x4 by default:
      those are the scales the face SR model was trained for; x3 would run it off its training scale.
    - ``enabled``: the steps the automatic policy may apply at all. The evaluation (``docs/evaluation/``) measured
      the first deblur models lowering verification on the very probes they target (TAR@FAR=1 % 89.4 -> 85.6 on
      held-out motion blur, 1,000 pairs) and moving faces away from their identity (``docs/benchmarks/deblur.md``).
      The current one (``deblur_face_s3i``) leaves that TAR unchanged (89.4) and gains nothing measurable with the
      step enabled (``docs/evaluation/notes.md``), so it stays off by default: no AI reconstruction without a
      measured gain. SR (x6: 70.6 -> 78.6 auto) and LIME stay on. A reviewer can still ask for any step explicitly
      (``enhance_face(crop, steps=[...])``, ``--steps`` on the CLI).
    """

    enabled: tuple[str, ...] = ("lime", "srcnn")
    dark_luminance: float = 75.0
    blur_threshold: float = 0.031
    min_size_for_blur: int = 64
    small_size: int = 64
    target_size: int = 96
    sr_scales: tuple[int, ...] = (2, 4)  # the face SR model is trained at x2 and x4 (enhancement.srcnn)
    sr_model: str = "face"
    extra: dict[str, Any] = field(default_factory=dict)

    def is_dark(self, q: FaceQuality) -> bool:
        return q.luminance < self.dark_luminance

    def is_blurred(self, q: FaceQuality) -> bool:
        return q.size >= self.min_size_for_blur and q.blur < self.blur_threshold

    def is_small(self, q: FaceQuality) -> bool:
        return q.size < self.small_size

    def sr_scale(self, q: FaceQuality) -> int:
        for scale in sorted(self.sr_scales):
            if q.size * scale >= self.target_size:
                return scale
        return max(self.sr_scales)


def decide_steps(quality: FaceQuality, policy: QualityPolicy | None = None) -> list[str]:
    """Steps to run, in order: LIME, then deblur, then super-resolution.

    Why this order: LIME first, because the deblur and SR models were trained on normally lit faces and a dark
    input leaves them little signal; deblur before SR, because the blur kernel acts at capture resolution and
    super-resolving first would magnify the blur the deblurrer then has to undo; SR last so it sees the cleanest
    input and its output size is the final one.
    """
    policy = policy or QualityPolicy()
    steps = []
    if policy.is_dark(quality):
        steps.append("lime")
    if policy.is_blurred(quality):
        steps.append("deblur")
    if policy.is_small(quality):
        steps.append("srcnn")
    return [step for step in steps if step in policy.enabled]


def step_params(step: str, quality: FaceQuality, policy: QualityPolicy | None = None) -> dict[str, Any]:
    """Default parameters for ``step`` given the measured quality (the SR scale depends on the face size)."""
    policy = policy or QualityPolicy()
    if step == "srcnn":
        return {"scale": policy.sr_scale(quality), "model": policy.sr_model}
    return {}


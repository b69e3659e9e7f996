"""Turn an LFW image into the face crop FaceCase would enhance and embed, and make each probe variant of it.

Conventions: ``uint8`` BGR images; boxes ``(x, y, w, h)``.

The face box: LFW deep-funneled images are 250x250 with the face centred. ``LFW_FACE_BOX`` is the median Haar box
(the product's default detector) on 100 clean ``pairsDevTest`` probes: (67, 67, 115, 115), 10th-90th percentile
of the side 105-126 px. A degraded probe uses this box scaled to its size, so a detector that fails on the degraded
frame does not also count as a recognition failure: detection is reported separately.

The crop: the box grown by ``enhancement.frames``' margin (0.3 of the face size per side), as the footage analysis
crops faces before enhancing them, so the quality policy sees what it sees in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from enhancement.frames import crop_with_margin

from .. import degrade

Box = tuple[int, int, int, int]
LFW_SIZE = 250
LFW_FACE_BOX: Box = (67, 67, 115, 115)
CROP_MARGIN = 0.3
VARIANTS = ("raw", "bicubic", "lime", "deblur", "srcnn", "auto", "auto_alt", "lime_denoise", "auto_lime_denoise")
# Variants embedded by the degradation-robust student (enhancement.student) instead of dlib's network: "student" is
# the raw crop, "student_<v>" the crop treated as variant <v>. The reference (gallery) side is always dlib's.
STUDENT_PREFIX = "student"


def probe_embedder(variant: str) -> str | None:
    """``"student"`` for the student's variants, None for the teacher's."""
    return "student" if variant.split("_")[0] == STUDENT_PREFIX else None


def treatment(variant: str) -> str:
    """The image treatment behind a variant name ("student_auto" -> "auto", "student" -> "raw")."""
    if probe_embedder(variant) is None:
        return variant
    return variant[len(STUDENT_PREFIX) + 1:] or "raw"
LIME_DENOISE = {"denoise": True}  # LIME's own noise suppression (off in the step's defaults)


def face_box(scale: float) -> Box:
    return tuple(int(round(v * scale)) for v in LFW_FACE_BOX)  # type: ignore[return-value]


def face_crop(frame: np.ndarray, scale: float) -> tuple[np.ndarray, Box]:
    """The margin crop around the (scaled) LFW face box, and the face box inside the crop."""
    return crop_with_margin(frame, face_box(scale), CROP_MARGIN)


def scale_box(box: Box, factor: float) -> Box:
    return tuple(int(round(v * factor)) for v in box)  # type: ignore[return-value]


@dataclass
class VariantImage:
    image: np.ndarray
    box: Box
    steps: list[str] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)
    elapsed_ms: float = 0.0
    same_as_raw: bool = False
    skipped: list[str] = field(default_factory=list)  # steps the auto pipeline wanted but could not run here


def make_variant(variant: str, crop: np.ndarray, box: Box, downscaled: bool,
                 auto: VariantImage | None = None, policy: Any = None) -> VariantImage | None:
    """Apply one probe treatment to a face crop.

    - ``raw``: the degraded crop as it is;
    - ``bicubic``: bicubic up by the scale the policy would give SRCNN (so "srcnn" minus "bicubic" is the network's
      own contribution); only for downscaled probes, elsewhere identical to raw;
    - ``lime`` / ``deblur`` / ``srcnn``: that single step through the pipeline, with the policy's parameters;
    - ``auto``: the quality-gated pipeline (``enhance_face(crop, steps="auto")``).

    Returns None for ``srcnn`` on a probe that was not downscaled: the policy never super-resolves a face of full
    size, and SRCNN x2 on a 180 px crop costs more than the rest of the probe's treatments together.
    ``auto``: this probe's ``auto`` result, when already computed; a single step that is exactly what the pipeline
    ran (same step, same crop, parameters from the same quality) reuses its output instead of recomputing it.
    ``auto_alt``: the pipeline with another ``policy`` (a candidate default measured side by side).
    ``lime_denoise``: LIME with its denoising on; ``auto_lime_denoise``: exactly the steps and parameters the
    ``auto`` run recorded, but with LIME's denoising on (needs ``auto``).
    """
    import time

    from enhancement.quality import QualityPolicy, measure_quality

    variant = treatment(variant)
    if variant == "raw":
        return VariantImage(crop, box, same_as_raw=True)
    if variant == "bicubic":
        if not downscaled:
            return VariantImage(crop, box, same_as_raw=True)
        scale = QualityPolicy().sr_scale(measure_quality(crop))
        t0 = time.perf_counter()
        up = degrade.upscale(crop, scale)
        ms = (time.perf_counter() - t0) * 1000
        return VariantImage(up, scale_box(box, up.shape[1] / crop.shape[1]), ["bicubic"], [{"scale": scale}], ms)
    if variant not in VARIANTS:
        raise ValueError(f"unknown probe variant {variant!r}")
    if variant == "srcnn" and not downscaled:
        return None
    if auto is not None and variant not in ("auto", "auto_alt") and auto.steps == [variant] and not auto.skipped:
        return auto
    from enhancement.pipeline import enhance_face

    steps: Any = "auto" if variant in ("auto", "auto_alt") else [variant]
    if variant == "lime_denoise":
        steps = [("lime", LIME_DENOISE)]
    if variant == "auto_lime_denoise":
        if auto is None:
            raise ValueError("auto_lime_denoise replays the auto run's plan: compute 'auto' first")
        if "lime" not in auto.steps:
            return auto
        steps = [(name, {**params, **LIME_DENOISE} if name == "lime" else params)
                 for name, params in zip(auto.steps, auto.params, strict=True)]
    result = enhance_face(crop, policy=policy if variant == "auto_alt" else None, steps=steps)
    records = list(result.records)
    image = result.image
    return VariantImage(image, scale_box(box, image.shape[1] / crop.shape[1]), [r.step for r in records],
                        [dict(r.params) for r in records], float(sum(r.elapsed_ms for r in records)),
                        same_as_raw=not records and image.shape == crop.shape and np.array_equal(image, crop),
                        skipped=[name for name, _ in result.skipped])

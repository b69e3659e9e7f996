"""Face deblurring (DeblurGAN-v2 style, our own trained weights) as an enhancement step.

``deblur_step(image, params) -> (image, StepRecord)`` on ``uint8`` BGR images of any size; the output has the
input's size. ``params``: ``weights`` (a file under ``weights/``, default ``deblur_face_s3i.weights.h5``).
Importing this package does not import TensorFlow or read the weights; the first call does, once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..provenance import StepRecord, StepTimer, make_record
from .inference import DEFAULT_WEIGHTS, deblur_image, load_generator

__all__ = ["DEFAULT_WEIGHTS", "deblur_image", "deblur_step", "load_generator"]


def deblur_step(image: np.ndarray, params: dict[str, Any] | None = None) -> tuple[np.ndarray, StepRecord]:
    params = {"weights": DEFAULT_WEIGHTS, **(params or {})}
    with StepTimer() as timer:
        gen = load_generator(params["weights"])
        out = deblur_image(image, params["weights"])
    record = make_record("deblur", params, image, out, timer.elapsed_ms, ai_enhanced=True, weights=gen.weights,
                         weights_sha256=gen.weights_sha256,
                         notes="learned motion-blur removal (DeblurGAN-v2-style generator); output is AI-enhanced, "
                               "not a recording")
    return out, record

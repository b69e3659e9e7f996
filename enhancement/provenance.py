"""Provenance records for enhancement steps.

Every step is a function ``step(image, params) -> (image, StepRecord)`` on ``uint8`` BGR images.
The record says what was done, with which parameters and which weights, so that a chain of steps
can be replayed on the same input to give the same output bytes, and reported to a reviewer.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

import numpy as np

from .weights import sha256_bytes


def image_sha256(image: np.ndarray) -> str:
    """Digest of the pixel buffer plus its shape and dtype (not of any file encoding)."""
    arr = np.ascontiguousarray(image)
    header = f"{arr.shape}|{arr.dtype}|".encode()
    return sha256_bytes(header + arr.tobytes())


@cache
def library_versions() -> dict[str, str]:
    import cv2
    import scipy

    versions = {"python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__,
                "scipy": scipy.__version__}
    try:  # only report TensorFlow/Keras when a learned step already imported them
        import sys

        if "keras" in sys.modules:
            versions["keras"] = sys.modules["keras"].__version__
        if "tensorflow" in sys.modules:
            versions["tensorflow"] = sys.modules["tensorflow"].__version__
    except Exception:  # pragma: no cover - version lookup must never break a step
        pass
    return versions


@dataclass
class StepRecord:
    step: str
    params: dict[str, Any]
    input_sha256: str
    output_sha256: str
    elapsed_ms: float
    ai_enhanced: bool = False
    weights: str | None = None
    weights_sha256: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        return cls(**data)


class StepTimer:
    """Context helper: ``with StepTimer() as t: ...; t.elapsed_ms``."""

    def __enter__(self) -> StepTimer:
        self._t0 = time.perf_counter()
        self.elapsed_ms = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed_ms = (time.perf_counter() - self._t0) * 1000.0


def make_record(step: str, params: dict[str, Any], image_in: np.ndarray, image_out: np.ndarray, elapsed_ms: float,
                *, ai_enhanced: bool = False, weights: str | None = None, weights_sha256: str | None = None,
                notes: str = "") -> StepRecord:
    return StepRecord(step=step, params=dict(params), input_sha256=image_sha256(image_in),
                      output_sha256=image_sha256(image_out), elapsed_ms=round(elapsed_ms, 3), ai_enhanced=ai_enhanced,
                      weights=weights, weights_sha256=weights_sha256, versions=dict(library_versions()), notes=notes)

"""One entry point for enhancing a face crop, with a provenance record per step and exact replay.

Conventions: crops are ``uint8`` BGR (H, W, 3). Each step is ``step(image, params) -> (image, StepRecord)``.
Steps are named in ``STEPS`` and resolved lazily ("module:function"), so importing this module does not import
TensorFlow, and a step whose module or weights are absent only fails when it is asked for.

``enhance_face(crop, policy, steps="auto")`` measures the crop's quality and runs the steps the policy decides, in
the policy's order (LIME, deblur, super-resolution; ``enhancement.quality.decide_steps`` says why). With
``steps="auto"`` a step that cannot run here (module or weights missing) is skipped and the reason is kept in
``EnhancedFace.skipped``; an explicit list of steps fails instead, because the caller asked for that step.

``replay(crop, records)`` reruns the recorded steps with the recorded parameters and checks every input and
output digest, so a reviewer can reproduce an enhanced image byte for byte.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .imageio import as_image
from .provenance import StepRecord, image_sha256
from .quality import FaceQuality, QualityPolicy, decide_steps, measure_quality, step_params
from .weights import WeightsError

StepFn = Callable[[np.ndarray, dict[str, Any]], tuple[np.ndarray, StepRecord]]

STEPS: dict[str, str] = {
    "lime": "enhancement.lime:lime_step",
    "deblur": "enhancement.deblur:deblur_step",
    "srcnn": "enhancement.srcnn:srcnn_step",
}


class StepUnavailable(RuntimeError):
    """A step is unknown, or its module or weights cannot be loaded here."""


class ReplayMismatch(RuntimeError):
    """Replaying a record did not reproduce the recorded bytes."""


def resolve_step(name: str) -> StepFn:
    if name not in STEPS:
        raise StepUnavailable(f"unknown enhancement step {name!r}; known steps: {', '.join(STEPS)}")
    module_name, func_name = STEPS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StepUnavailable(f"step {name!r} is not available: {exc}") from exc
    return getattr(module, func_name)


@dataclass
class EnhancedFace:
    image: np.ndarray
    records: list[StepRecord]
    quality: FaceQuality
    final_quality: FaceQuality
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ai_enhanced(self) -> bool:
        return any(r.ai_enhanced for r in self.records)

    def report(self) -> dict[str, Any]:
        return {"quality": self.quality.to_dict(), "final_quality": self.final_quality.to_dict(),
                "steps": [r.to_dict() for r in self.records], "ai_enhanced": self.ai_enhanced,
                "skipped": [{"step": s, "reason": r} for s, r in self.skipped]}


def _check_crop(crop: np.ndarray) -> None:
    as_image(crop, name="face crop", min_side=4)


def _planned(steps: str | Sequence[str | tuple[str, dict[str, Any]]], quality: FaceQuality,
             policy: QualityPolicy) -> list[tuple[str, dict[str, Any]]]:
    if steps == "auto":
        names: Sequence[str | tuple[str, dict[str, Any]]] = decide_steps(quality, policy)
    elif isinstance(steps, str):
        names = [s.strip() for s in steps.split(",") if s.strip()]
    else:
        names = steps
    plan = []
    for item in names:
        name, params = item if isinstance(item, tuple) else (item, None)
        plan.append((name, {**step_params(name, quality, policy), **(params or {})}))
    return plan


def enhance_face(crop: np.ndarray, policy: QualityPolicy | None = None,
                 steps: str | Sequence[str | tuple[str, dict[str, Any]]] = "auto") -> EnhancedFace:
    """Run the steps (``"auto"``: the policy's choice; or names / ``(name, params)`` pairs) on a face crop."""
    _check_crop(crop)
    policy = policy or QualityPolicy()
    quality = measure_quality(crop)
    plan = _planned(steps, quality, policy)
    for name, _ in plan:  # fail on a misspelt step before spending time on the others
        if name not in STEPS:
            raise StepUnavailable(f"unknown enhancement step {name!r}; known steps: {', '.join(STEPS)}")
    image, records, skipped = crop, [], []
    for name, params in plan:
        try:
            step = resolve_step(name)
            image, record = step(image, params)
        except (StepUnavailable, WeightsError) as exc:
            # a learned step whose module or weights are missing must not stop an automatic run of the others
            if steps != "auto":
                raise
            skipped.append((name, str(exc)))
            continue
        records.append(record)
    return EnhancedFace(image, records, quality, measure_quality(image), skipped)


def replay(crop: np.ndarray, records: Sequence[StepRecord | dict[str, Any]]) -> np.ndarray:
    """Rerun recorded steps on ``crop``; raises ``ReplayMismatch`` unless every digest matches."""
    image = crop
    for i, raw in enumerate(records):
        record = raw if isinstance(raw, StepRecord) else StepRecord.from_dict(raw)
        if image_sha256(image) != record.input_sha256:
            raise ReplayMismatch(f"step {i} ({record.step}): input differs from the recorded input")
        image, again = resolve_step(record.step)(image, dict(record.params))
        if again.output_sha256 != record.output_sha256:
            raise ReplayMismatch(f"step {i} ({record.step}): output differs from the recorded output")
    return image

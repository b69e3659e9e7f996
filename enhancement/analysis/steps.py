"""Which enhancement steps a track's crop gets, and running them: the quality policy's plan with the analysis's
``step_params`` applied, minus steps whose module is absent. Crops are ``uint8`` BGR."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..pipeline import StepUnavailable, enhance_face, resolve_step
from ..quality import QualityPolicy, decide_steps, measure_quality, step_params
from ..weights import WeightsError
from .config import AnalysisConfig


def plan_steps(crop: np.ndarray, config: AnalysisConfig) -> tuple[Any, list[dict[str, str]]]:
    """The ``steps`` argument for ``enhance_face`` (``config.steps`` as given, or the policy's plan with parameters)
    and the steps the policy asked for that cannot run here, each with the reason."""
    if config.steps != "auto" or not config.step_params:
        return config.steps, []
    policy, quality = QualityPolicy(), measure_quality(crop)
    plan, skipped = [], []
    for name in decide_steps(quality, policy):
        try:
            resolve_step(name)
        except StepUnavailable as exc:
            skipped.append({"step": name, "reason": str(exc)})
            continue
        plan.append((name, {**step_params(name, quality, policy), **config.step_params.get(name, {})}))
    return plan, skipped


def enhance_crop(crop: np.ndarray, config: AnalysisConfig) -> tuple[np.ndarray | None, list[Any], list[dict[str, str]]]:
    """``(enhanced image, step records, skipped steps with their reasons)``; the image is ``None`` when enhancement
    is off or no step ran (the enhanced crop is then the raw one). A step the quality asked for but that cannot load
    (module or weights missing or altered) is never dropped silently: it is listed as skipped."""
    if not config.enhance:
        return None, [], []
    steps, skipped = plan_steps(crop, config)
    try:
        result = enhance_face(crop, steps=steps)
    except (StepUnavailable, WeightsError) as exc:  # a step's weights are missing: let the pipeline skip it
        skipped.append({"step": "plan", "reason": f"{type(exc).__name__}: {exc}; fell back to the default plan"})
        result = enhance_face(crop, steps="auto")
    skipped += [{"step": name, "reason": reason} for name, reason in result.skipped]
    if not result.records:
        return None, [], skipped
    return result.image, list(result.records), skipped

"""Which enhancement steps a track's crop gets, and running them: the quality policy's plan with the analysis's
``step_params`` applied, minus steps whose module is absent. Crops are ``uint8`` BGR."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..pipeline import StepUnavailable, enhance_face, resolve_step
from ..quality import QualityPolicy, decide_steps, measure_quality, step_params
from ..weights import WeightsError
from .config import AnalysisConfig


def plan_steps(crop: np.ndarray, config: AnalysisConfig) -> Any:
    """The ``steps`` argument for ``enhance_face``: ``config.steps`` as given, or the policy's plan with parameters."""
    if config.steps != "auto" or not config.step_params:
        return config.steps
    policy, quality = QualityPolicy(), measure_quality(crop)
    plan = []
    for name in decide_steps(quality, policy):
        try:
            resolve_step(name)
        except StepUnavailable:
            continue
        plan.append((name, {**step_params(name, quality, policy), **config.step_params.get(name, {})}))
    return plan


def enhance_crop(crop: np.ndarray, config: AnalysisConfig) -> tuple[np.ndarray | None, list[Any]]:
    """``(enhanced image, step records)``, or ``(None, [])`` when enhancement is off or the policy found nothing
    to fix (the enhanced crop is then the raw one)."""
    if not config.enhance:
        return None, []
    try:
        result = enhance_face(crop, steps=plan_steps(crop, config))
    except (StepUnavailable, WeightsError):  # a step's weights are missing: let the pipeline skip it
        result = enhance_face(crop, steps="auto")
    if not result.records:
        return None, []
    return result.image, list(result.records)

"""How the evaluation's pages name variants and print rates (shared by the plots and the README)."""

from __future__ import annotations

import math
from typing import Any

VARIANT_LABELS = {"raw": "raw probe", "bicubic": "bicubic only", "lime": "LIME only", "deblur": "deblur only",
                  "srcnn": "SRCNN only", "auto": "auto pipeline", "auto_alt": "auto, alternative policy",
                  "lime_denoise": "LIME + denoise", "auto_lime_denoise": "auto, LIME denoise on",
                  "student": "student embedder, raw probe", "student_auto": "student embedder, auto pipeline"}

EMBEDDER_LABELS = {"teacher": "dlib", "student": "student"}


def pct(x: Any) -> str:
    """A rate in [0, 1] as a percentage with one decimal; empty for a missing value."""
    return "" if x in ("", None) or (isinstance(x, float) and math.isnan(x)) else f"{100 * float(x):.1f}"

"""Seconds spent per stage of the frame loop (``AnalysisResult.stage_seconds``; the analysis benchmark reads them)."""

from __future__ import annotations

import time

STAGES = ("decode", "motion", "detect", "track", "crops", "enhance", "embed", "match")


class StageClock:
    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def add(self, stage: str, t0: float) -> float:
        """Charge the time since ``t0`` to ``stage``; returns now, the next stage's ``t0``."""
        now = time.perf_counter()
        self.seconds[stage] += now - t0
        return now

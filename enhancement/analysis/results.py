"""What an analysis run hands back: per-track results with their crops and matches, progress, the run's summary.

Crops are ``uint8`` BGR; boxes ``(x, y, w, h)`` ints in pixels of the original frame; timestamps in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..video import Box, DecodeReport, FootageInfo
from .config import AnalysisConfig


@dataclass
class MatchSummary:
    """Aggregated match of one track against the gallery, on raw or on enhanced crops."""

    label: str | None
    distance: float | None
    score: float | None
    candidates: list[dict[str, Any]]  # top-k: label, distance, score (weighted over the track's crops)

    @property
    def matched(self) -> bool:
        return self.label is not None


@dataclass
class CropResult:
    frame_index: int
    timestamp: float
    box: Box
    crop: np.ndarray | None  # raw, with margin (None in AnalysisResult once on_track has had it)
    box_in_crop: Box
    enhanced: np.ndarray | None
    records: list[Any]  # enhancement.provenance.StepRecord
    quality: dict[str, float]
    weight: float
    raw_vector: np.ndarray | None = None
    enhanced_vector: np.ndarray | None = None
    skipped: list[dict[str, str]] = field(default_factory=list)  # steps asked for that could not run, and why
    student_vector: np.ndarray | None = None  # the degradation-robust student's descriptor (config.probe_embedder)

    @property
    def ai_enhanced(self) -> bool:
        return any(getattr(r, "ai_enhanced", False) for r in self.records)


@dataclass
class AveragedChip:
    """The registered, quality-weighted average of a track's aligned face chips (``TrackMatcher.averaged_chip``):
    the image the embedder described as one more view of the track, and how it was made (``record``: the frames
    averaged, best first, their shares, registration shifts and the method), for the reviewer and the evidence."""

    image: np.ndarray | None  # uint8 BGR, the embedder's aligned chip size (None once on_track has had it)
    record: dict[str, Any]
    teacher_vector: np.ndarray
    student_vector: np.ndarray | None = None


@dataclass
class TrackResult:
    key: str
    track_id: int  # stable across resumed runs (Track.stable_id)
    frames: list[int]
    timestamps: list[float]
    boxes: list[Box]
    crops: list[CropResult]  # best first
    raw: MatchSummary
    enhanced: MatchSummary
    threshold: float
    # The student embedder's match (config.probe_embedder == "student") and its own calibrated threshold.
    student: MatchSummary | None = None
    student_threshold: float | None = None
    averaged: AveragedChip | None = None  # the averaged chip, when the fusion rule used one

    @property
    def first_frame(self) -> int:
        return self.frames[0]

    @property
    def last_frame(self) -> int:
        return self.frames[-1]

    @property
    def decision(self) -> str | None:
        """The label this track is matched to: the answer on the enhanced crops (the raw crops where the policy
        changed nothing). A match on the raw crops alone that enhancement does not confirm is not a decision: on
        the looped Hamilton clip it was the one false match (an audience member to an enrolled LFW person, raw 0.624
        vs enhanced 0.662); ``matched_raw`` says whether the decision also holds without enhancement.

        With the student embedder on (``AnalysisConfig.probe_embedder``), the student's answer decides: it was
        trained to place a degraded face where dlib places the clean one (docs/evaluation); dlib's raw and
        enhanced answers stay beside it for the reviewer."""
        return self.primary.label

    @property
    def candidate_labels(self) -> set[str]:
        """Every gallery label among the track's candidates: raw, enhanced and (when it ran) the student's."""
        summaries = [self.raw, self.enhanced] + ([self.student] if self.student is not None else [])
        return {str(c["label"]) for summary in summaries for c in summary.candidates}

    @property
    def primary(self) -> MatchSummary:
        """The summary behind the decision: the student's when it ran, else the enhanced crops' (dlib)."""
        return self.student if self.student is not None else self.enhanced

    @property
    def embedder(self) -> str:
        """Which probe embedder decided: "student" or "teacher" (dlib's own network)."""
        return "student" if self.student is not None else "teacher"

    @property
    def matched_raw(self) -> bool:
        return self.decision is not None and self.raw.label == self.decision

    @property
    def matched_enhanced(self) -> bool:
        return self.decision is not None and self.enhanced.label == self.decision


@dataclass
class Progress:
    frame_index: int
    frames_total: int
    percent: float
    frames_analysed: int
    faces_found: int
    tracks_done: int
    checkpoint: int | None


@dataclass
class AnalysisResult:
    info: FootageInfo
    tracks: list[TrackResult]
    report: DecodeReport
    frames_analysed: int
    faces_found: int
    stage_seconds: dict[str, float]
    checkpoint: int | None
    config: AnalysisConfig

"""A finished track's best crops, enhanced, embedded (raw and enhanced) and matched against the gallery, with the
matches aggregated over the crops, area- and quality-weighted. Crops ``uint8`` BGR, boxes ``(x, y, w, h)``."""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from ..embed import embed_face
from ..frames import Candidate
from ..match import DEFAULT_THRESHOLD, calibration
from ..match import score as match_score
from ..track import Track
from ..video import Box
from .config import AnalysisConfig
from .results import CropResult, MatchSummary, TrackResult
from .steps import enhance_crop
from .timing import StageClock


def student_default_threshold() -> float:
    """The student's per-comparison LFW operating point (``weights/matcher_calibration_student.json``)."""
    data = calibration("student")
    if data is None:
        raise RuntimeError("the student embedder has no calibration (weights/matcher_calibration_student.json): "
                           "run python -m research.calibrate_student, or set probe_embedder='teacher'")
    return float(data["dev_train"]["threshold_at_far_1pct"])


class TrackMatcher:
    def __init__(self, gallery: Any, config: AnalysisConfig, clock: StageClock) -> None:
        self.gallery = gallery
        self.config = config
        self.clock = clock
        self.threshold = float(DEFAULT_THRESHOLD if config.threshold is None else config.threshold)
        if config.probe_embedder not in ("student", "teacher"):
            raise ValueError(f"unknown probe embedder {config.probe_embedder!r}; use 'student' or 'teacher'")
        self.use_student = config.probe_embedder == "student"
        self.student_threshold = self.threshold
        if self.use_student:
            self.student_threshold = float(config.student_threshold if config.student_threshold is not None
                                           else student_default_threshold())

    def embed(self, image: np.ndarray, box: Box, backend: str | None = None) -> np.ndarray:
        factor = min(4.0, self.config.embed_face_px / max(1, box[2]))
        if factor > 1.0:
            image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
            x, y, w, h = (int(round(v * factor)) for v in box)
            box = (x, y, w, h)
        return np.asarray(embed_face(image, box=box, backend=backend or self.config.embed_backend), dtype=np.float32)

    def aggregate(self, vectors: list[np.ndarray], weights: list[float],
                  threshold: float | None = None) -> MatchSummary:
        if not vectors or self.gallery is None or len(self.gallery) == 0:
            return MatchSummary(None, None, None, [])
        threshold = self.threshold if threshold is None else threshold
        k = self.config.top_k
        per_crop = [self.gallery.search(v, k, threshold=threshold) for v in vectors]
        labels = sorted({str(c.label) for cands in per_crop for c in cands})
        # Exact distance of every crop to every candidate identity (its nearest enrolled photo), also where the
        # identity was outside that crop's top-k: one matrix-vector product per crop.
        all_d = [self.gallery.distances(v) for v in vectors]
        rows_of = {label: np.asarray(self.gallery.labels) == label for label in labels}
        total = float(sum(weights)) or 1.0
        rows: list[dict[str, Any]] = []
        for label in labels:
            distance = votes = 0.0
            for cands, dists, wgt in zip(per_crop, all_d, weights, strict=True):
                d = float(dists[rows_of[label]].min())
                if any(str(c.label) == label for c in cands):
                    votes += wgt  # weight of the crops that rank this identity in their own top-k
                distance += wgt * d
            mean = distance / total
            # The score of the weighted mean distance (the matcher's curve: 0.5 exactly at the threshold), so that
            # "score >= 0.5" and "matched" always agree; the per-crop scores' mean need not.
            rows.append({"label": label, "distance": round(mean, 4),
                         "score": round(match_score(mean, threshold), 4), "votes": round(votes / total, 3)})
        rows.sort(key=lambda r: (r["distance"], str(r["label"])))
        rows = rows[:k]
        best = rows[0]
        decided = best["label"] if best["distance"] < threshold else None
        return MatchSummary(decided, best["distance"], best["score"], rows)

    def crop_result(self, cand: Candidate) -> CropResult:
        t0 = time.perf_counter()
        enhanced, records, skipped = enhance_crop(cand.crop, self.config)
        t0 = self.clock.add("enhance", t0)
        raw_vec = enh_vec = student_vec = None
        if min(cand.box[2], cand.box[3]) >= self.config.min_face_px:
            raw_vec = self.embed(cand.crop, cand.box_in_crop)
            if enhanced is not None:
                sy = enhanced.shape[0] / cand.crop.shape[0]
                sx = enhanced.shape[1] / cand.crop.shape[1]
                bx, by, bw, bh = cand.box_in_crop
                enh_vec = self.embed(enhanced, (round(bx * sx), round(by * sy), round(bw * sx), round(bh * sy)))
            else:
                enh_vec = raw_vec
            if self.use_student:
                if self.config.student_input == "enhanced" and enhanced is not None:
                    student_vec = self.embed(enhanced, (round(bx * sx), round(by * sy), round(bw * sx), round(bh * sy)),
                                             backend="student")
                else:
                    student_vec = self.embed(cand.crop, cand.box_in_crop, backend="student")
        self.clock.add("embed", t0)
        q = cand.quality
        quality = {"score": round(q.score, 4), "face_px": q.face_px, "sharpness": round(q.sharpness, 4),
                   "brightness": round(q.brightness, 4), "frontal": round(q.frontal, 4),
                   "laplacian_var": round(q.laplacian_var, 2), "mean_luma": round(q.mean_luma, 2)}
        return CropResult(cand.frame_index, cand.timestamp, cand.box, cand.crop, cand.box_in_crop, enhanced, records,
                          quality, round(cand.weight, 4), raw_vec, enh_vec, skipped, student_vec)

    def track_result(self, track: Track, best: list[Candidate]) -> TrackResult:
        crops = [self.crop_result(cand) for cand in best]
        raw_vecs, enh_vecs, student_vecs, weights = [], [], [], []
        for crop, cand in zip(crops, best, strict=True):
            if crop.raw_vector is not None and crop.enhanced_vector is not None:  # embedded (large enough)
                raw_vecs.append(crop.raw_vector)
                enh_vecs.append(crop.enhanced_vector)
                if crop.student_vector is not None:
                    student_vecs.append(crop.student_vector)
                weights.append(cand.weight)
        t0 = time.perf_counter()
        raw = self.aggregate(raw_vecs, weights)
        enh = self.aggregate(enh_vecs, weights)
        student = self.aggregate(student_vecs, weights, self.student_threshold) if self.use_student else None
        self.clock.add("match", t0)
        return TrackResult(track.key, track.stable_id, [p.frame_index for p in track.points],
                           [round(p.timestamp, 3) for p in track.points], [p.box for p in track.points], crops, raw,
                           enh, self.threshold, student, self.student_threshold if self.use_student else None)

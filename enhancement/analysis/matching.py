"""A track's best crops embedded and fused into one match against the gallery (``enhancement.fusion``, the rule in
``AnalysisConfig``), with the registered average of their aligned chips as one more view; the best few of them are
also enhanced and kept as evidence. Crops ``uint8`` BGR, boxes ``(x, y, w, h)``."""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from ..embed import describe_chips, embed_face_by, face_chip
from ..frames import Candidate
from ..fusion import average_chips_recorded, identities_distances, pooled_descriptor
from ..match import DEFAULT_THRESHOLD, student_operating_point
from ..match import score as match_score
from ..track import Track
from ..video import Box
from .config import AnalysisConfig
from .results import AveragedChip, CropResult, MatchSummary, TrackResult
from .steps import enhance_crop
from .timing import StageClock


def student_default_threshold() -> float:
    """The student's per-comparison LFW operating point (``weights/matcher_calibration_student.json``)."""
    threshold = student_operating_point()
    if threshold is None:
        raise RuntimeError("the student embedder has no calibration (weights/matcher_calibration_student.json): "
                           "run python -m research.calibrate_student, or set probe_embedder='teacher'")
    return threshold


def embedding_view(image: np.ndarray, box: Box, face_px: int) -> tuple[np.ndarray, Box]:
    """The image and box the embedder's landmark fit is given: faces narrower than ``face_px`` bicubic-upscaled
    (at most x4; see ``AnalysisConfig.embed_face_px``)."""
    factor = min(4.0, face_px / max(1, box[2]))
    if factor <= 1.0:
        return image, box
    image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    x, y, w, h = (int(round(v * factor)) for v in box)
    return image, (x, y, w, h)


class TrackMatcher:
    def __init__(self, gallery: Any, config: AnalysisConfig, clock: StageClock) -> None:
        self.gallery = gallery
        self.config = config
        self.clock = clock
        self.threshold = float(DEFAULT_THRESHOLD if config.threshold is None else config.threshold)
        self.rule = config.fusion_rule
        if config.probe_embedder not in ("student", "teacher"):
            raise ValueError(f"unknown probe embedder {config.probe_embedder!r}; use 'student' or 'teacher'")
        self.use_student = config.probe_embedder == "student"
        self.student_threshold = self.threshold
        if self.use_student:
            self.student_threshold = float(config.student_threshold if config.student_threshold is not None
                                           else student_default_threshold())

    def embed(self, image: np.ndarray, box: Box, student: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """dlib's descriptor of the face, and the student's when ``student``, from one landmark fit."""
        image, box = embedding_view(image, box, self.config.embed_face_px)
        backends = [self.config.embed_backend, "student"] if student else [self.config.embed_backend]
        vectors = [np.asarray(v, dtype=np.float32) for v in embed_face_by(image, box, backends)]
        return vectors[0], (vectors[1] if student else None)

    def aggregate(self, vectors: list[np.ndarray], weights: list[float], threshold: float | None = None,
                  chip_vector: np.ndarray | None = None) -> MatchSummary:
        """One match from the crops' descriptors under the fusion rule; ``chip_vector``: the descriptor of the
        track's averaged chip (``averaged_chip``), one more view when the rule uses it."""
        if not vectors or self.gallery is None or len(self.gallery) == 0:
            return MatchSummary(None, None, None, [])
        threshold = self.threshold if threshold is None else threshold
        k = self.config.top_k
        stacked = np.stack(vectors)
        w = np.asarray(weights, dtype=np.float64)
        chip = chip_vector if self.rule.chip_average else None
        per_crop = [self.gallery.search(v, k, threshold=threshold) for v in vectors]
        labels = {str(c.label) for cands in per_crop for c in cands}
        if self.rule.name in ("pooled", "mean"):  # identities near the pooled descriptor, too
            pooled = stacked.mean(axis=0) if self.rule.name == "mean" else pooled_descriptor(
                stacked, w, self.rule.keep, self.rule.power)
            labels |= {str(c.label) for c in self.gallery.search(pooled, k, threshold=threshold)}
        if chip is not None:  # and near the averaged chip
            labels |= {str(c.label) for c in self.gallery.search(chip, k, threshold=threshold)}
        gallery_labels = np.asarray(self.gallery.labels).astype(str)
        total = float(w.sum()) or 1.0
        rows: list[dict[str, Any]] = []
        ordered = sorted(labels)
        # Exact distance to each identity (its nearest enrolled photo), also where it was outside a crop's top-k.
        crops_d, combined = identities_distances([self.gallery.vectors[gallery_labels == label] for label in ordered],
                                                 stacked, w, self.rule, chip)
        for label, frames, fused in zip(ordered, crops_d, combined, strict=True):
            distance = float(fused)
            votes = sum(wgt for cands, wgt in zip(per_crop, w, strict=True)
                        if any(str(c.label) == label for c in cands))  # weight of the crops ranking it in their top-k
            # The score of the fused distance (the matcher's curve: 0.5 exactly at the threshold), so that
            # "score >= 0.5" and "matched" always agree. ``view``: which view of the track gave the distance.
            rows.append({"label": label, "distance": round(distance, 4),
                         "score": round(match_score(distance, threshold), 4), "votes": round(votes / total, 3),
                         "view": "averaged chip" if distance < frames else "crops"})
        rows.sort(key=lambda r: (r["distance"], str(r["label"])))
        rows = rows[:k]
        best = rows[0]
        decided = best["label"] if best["distance"] < threshold else None
        return MatchSummary(decided, best["distance"], best["score"], rows)

    def raw_chip(self, cand: Candidate) -> np.ndarray | None:
        """The aligned chip of the raw crop, as the embedder cuts it; None when the face is too small to embed."""
        if min(cand.box[2], cand.box[3]) < self.config.min_face_px:
            return None
        t0 = time.perf_counter()
        image, box = embedding_view(cand.crop, cand.box_in_crop, self.config.embed_face_px)
        chip = face_chip(image, box)
        self.clock.add("embed", t0)
        return chip

    def averaged_chip(self, best: list[Candidate]) -> AveragedChip | None:
        """The registered, quality-weighted average of the aligned chips of the track's ``chip_average_keep`` best
        crops, with its teacher (and, when on, student) descriptors and its provenance; None when the rule does not
        use it or fewer than 2 crops can be embedded (one chip's average is itself)."""
        if not self.rule.chip_average:
            return None
        kept = [(chip, cand) for cand in best[:self.config.chip_average_keep]
                if (chip := self.raw_chip(cand)) is not None]
        if len(kept) < 2:
            return None
        t0 = time.perf_counter()
        made = average_chips_recorded([c for c, _ in kept], np.array([cand.weight for _, cand in kept]))
        teacher = np.asarray(describe_chips([made.image], self.config.embed_backend)[0], dtype=np.float32)
        student = (np.asarray(describe_chips([made.image], "student")[0], dtype=np.float32)
                   if self.use_student else None)
        self.clock.add("embed", t0)
        frames = [kept[i][1].frame_index for i in made.order]
        record = {
            "step": "frame_average", "ai_enhanced": False, "frames": frames, "reference_frame": frames[0],
            "shares": list(made.shares), "shifts_px": [list(s) for s in made.shifts],
            "chip_px": int(made.image.shape[1]), "embedder": self.config.embed_backend or "dlib",
            "method": ("each raw crop's face aligned by its landmarks to the embedder's chip; the chips registered "
                       "to the best one by translation (ECC) and averaged with quality weights"),
        }
        image = cv2.cvtColor(made.image, cv2.COLOR_RGB2BGR) if made.image.ndim == 3 else made.image
        return AveragedChip(image, record, teacher, student)

    def fusion_vectors(self, cand: Candidate) -> tuple[np.ndarray, np.ndarray | None] | None:
        """(teacher, student or None) descriptors of a crop that is fused but not kept as evidence (not enhanced);
        None when the face is too small to embed."""
        if min(cand.box[2], cand.box[3]) < self.config.min_face_px:
            return None
        t0 = time.perf_counter()
        vectors = self.embed(cand.crop, cand.box_in_crop, student=self.use_student)
        self.clock.add("embed", t0)
        return vectors

    def crop_result(self, cand: Candidate) -> CropResult:
        t0 = time.perf_counter()
        enhanced, records, skipped = enhance_crop(cand.crop, self.config)
        t0 = self.clock.add("enhance", t0)
        raw_vec = enh_vec = student_vec = None
        if min(cand.box[2], cand.box[3]) >= self.config.min_face_px:
            student_on_enhanced = self.use_student and self.config.student_input == "enhanced" and enhanced is not None
            raw_vec, student_vec = self.embed(cand.crop, cand.box_in_crop,
                                              student=self.use_student and not student_on_enhanced)
            if enhanced is not None:
                sy = enhanced.shape[0] / cand.crop.shape[0]
                sx = enhanced.shape[1] / cand.crop.shape[1]
                bx, by, bw, bh = cand.box_in_crop
                enh_vec, enh_student = self.embed(
                    enhanced, (round(bx * sx), round(by * sy), round(bw * sx), round(bh * sy)),
                    student=student_on_enhanced)
                if student_on_enhanced:
                    student_vec = enh_student
            else:
                enh_vec = raw_vec
        self.clock.add("embed", t0)
        q = cand.quality
        quality = {"score": round(q.score, 4), "face_px": q.face_px, "sharpness": round(q.sharpness, 4),
                   "brightness": round(q.brightness, 4), "frontal": round(q.frontal, 4),
                   "laplacian_var": round(q.laplacian_var, 2), "mean_luma": round(q.mean_luma, 2)}
        return CropResult(cand.frame_index, cand.timestamp, cand.box, cand.crop, cand.box_in_crop, enhanced, records,
                          quality, round(cand.weight, 4), raw_vec, enh_vec, skipped, student_vec)

    def track_result(self, track: Track, best: list[Candidate]) -> TrackResult:
        """``best``: the track's kept crops, best first. The first ``keep_best`` are enhanced and kept as evidence;
        the first ``fusion_keep`` are embedded and fused into the match (the rest of them raw: the enhanced summary
        fuses the evidence crops' enhanced descriptors with the other crops' raw ones); the raw chips of the first
        ``chip_average_keep`` are averaged into one more view for every summary (raw, enhanced, student)."""
        evidence = best[:self.config.keep_best]
        crops = [self.crop_result(cand) for cand in evidence]
        raw_vecs, enh_vecs, student_vecs, weights = [], [], [], []
        for crop, cand in zip(crops, evidence, strict=True):
            if crop.raw_vector is not None and crop.enhanced_vector is not None:  # embedded (large enough)
                raw_vecs.append(crop.raw_vector)
                enh_vecs.append(crop.enhanced_vector)
                if crop.student_vector is not None:
                    student_vecs.append(crop.student_vector)
                weights.append(cand.weight)
        for cand in best[self.config.keep_best:max(self.config.keep_best, self.config.fusion_keep)]:
            vectors = self.fusion_vectors(cand)
            if vectors is not None:
                raw_vecs.append(vectors[0])
                enh_vecs.append(vectors[0])
                if vectors[1] is not None:
                    student_vecs.append(vectors[1])
                weights.append(cand.weight)
        averaged = self.averaged_chip(best)
        teacher_chip = averaged.teacher_vector if averaged is not None else None
        student_chip = averaged.student_vector if averaged is not None else None
        t0 = time.perf_counter()
        raw = self.aggregate(raw_vecs, weights, chip_vector=teacher_chip)
        enh = self.aggregate(enh_vecs, weights, chip_vector=teacher_chip)
        student = (self.aggregate(student_vecs, weights, self.student_threshold, chip_vector=student_chip)
                   if self.use_student else None)
        self.clock.add("match", t0)
        return TrackResult(track.key, track.stable_id, [p.frame_index for p in track.points],
                           [round(p.timestamp, 3) for p in track.points], [p.box for p in track.points], crops, raw,
                           enh, self.threshold, student, self.student_threshold if self.use_student else None,
                           averaged)

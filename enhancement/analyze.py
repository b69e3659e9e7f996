"""Footage analysis: decode -> detect -> track -> best crops -> enhance -> embed -> match, one track at a time.

Conventions: frames and crops are ``uint8`` BGR; boxes are ``(x, y, w, h)`` ints in pixels of the original frame;
timestamps in seconds. Pure library code: no Django. The Django side (``footage/analysis.py``) stores what the
``on_track`` callback hands it and keeps the checkpoints that ``checkpoint_cb`` hands it.

Why it is shaped like this (costs measured on the 2 shared cores): a full-frame Haar pass is ~50 ms at 640x360 and
~260 ms at 1080p, a dlib descriptor ~130 ms per face. So:
- frames are analysed at up to ``max_fps`` (skipped frames are grabbed, never converted);
- full-frame detection runs on a frame downscaled to ``detect_width``, only every ``detect_every`` analysed frames
  and only if something moved since the previous full pass (motion gate on a 96 px grey thumbnail);
- between full passes each live track is re-detected in a small region around its last box, rescaled so the face is
  about ``roi_face_px`` wide (a few ms), and moving regions away from any track are searched at detection scale;
- each track keeps only its ``keep_best`` crops (bounded memory); only those are enhanced and embedded.

Resuming: every ``checkpoint_every_s`` of footage the whole analysis state (open tracks and their best crops, the
motion gate, counters) is handed to ``checkpoint_cb`` as bytes, after every track finished so far went to
``on_track``. ``analyze_video(..., resume_from=blob)`` continues from there exactly as the uninterrupted run would,
so the tracks it finds carry the same ids and the caller can de-duplicate by them.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .frames import BestCrops, Candidate
from .track import Track, Tracker, iou
from .video import Box, DecodeReport, FootageInfo, FrameReader, MotionGate, expand_box

log = logging.getLogger(__name__)

STAGES = ("decode", "motion", "detect", "track", "crops", "enhance", "embed", "match")


@dataclass
class AnalysisConfig:
    max_fps: float = 10.0  # analysis rate; footage at or below it is analysed frame by frame
    detector: str = "haar"  # or "mtcnn"
    detector_params: dict[str, Any] = field(default_factory=dict)
    # Haar input contrast: "clahe" (local equalisation; measured best on dark synthetic CCTV, Hamilton and the BBT
    # scenes together), "global" (detect.py's equalizeHist) or "none".
    contrast: str = "clahe"
    detect_width: int = 640  # full-frame detection runs on the frame downscaled to this width
    detect_every: int = 6  # analysed frames between full-frame passes
    # Haar pyramid step of the full-frame pass: 1.15 costs ~half of 1.1 and still finds most faces on the
    # Hamilton clip (47 vs 55 boxes over 46 frames); tracks and the finer ROI passes catch what it misses.
    full_scale_factor: float = 1.15
    motion_gating: bool = True
    roi_factor: float = 2.2  # search region around a live track, in face sizes
    roi_face_px: int = 56  # ROI is rescaled so the tracked face is about this wide (cheap and within Haar's range)
    max_gap_seconds: float = 1.0  # a track survives this long without a detection
    min_detections: int = 2  # shorter tracks in videos are dropped as detector noise (images: 1)
    keep_best: int = 3
    enhance: bool = True
    steps: str | list[str] = "auto"
    # Parameters given to the steps the quality policy picks. LIME's fast variant (solve at 160 px, "for video":
    # output within 5.2 grey levels of the exact solve, docs/enhancement.md) because the exact solve took 4.6 s on a
    # 1080p face crop here, 0.4 s at 160 px.
    step_params: dict[str, dict[str, Any]] = field(default_factory=lambda: {"lime": {"fast": True}})
    top_k: int = 5
    threshold: float | None = None  # None: enhancement.match.DEFAULT_THRESHOLD
    checkpoint_every_s: float = 10.0  # footage seconds between resumable snapshots (see analyze_video)
    min_face_px: int = 20  # smaller faces are not embedded: the descriptor is noise below this
    # Faces narrower than this are bicubic-upscaled before the embedder's landmark fit (its 150 px chip is the same
    # either way). Measured on Alex Lacamoire's ~30 px face in the Hamilton clip: distance to his reference photo
    # 0.600 -> 0.579, 0.604 -> 0.588, 0.693 -> 0.661 on three frames.
    embed_face_px: int = 80
    # The same dlib network run in TensorFlow (enhancement.embed_tf): descriptors within 1e-6 of dlib's, ~20x faster
    # per face here, and the analysis worker has TensorFlow loaded for the learned steps anyway.
    embed_backend: str = "tf"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


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

    @property
    def ai_enhanced(self) -> bool:
        return any(getattr(r, "ai_enhanced", False) for r in self.records)


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
        vs enhanced 0.662); ``matched_raw`` says whether the decision also holds without enhancement."""
        return self.enhanced.label

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


class _Clock:
    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def add(self, stage: str, t0: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] += now - t0
        return now


def _nms(detections: list[tuple[Box, float, Any]], overlap: float = 0.3) -> list[tuple[Box, float, Any]]:
    kept: list[tuple[Box, float, Any]] = []
    for det in sorted(detections, key=lambda d: (-d[1], -d[0][2])):
        if all(iou(det[0], k[0]) < overlap for k in kept):
            kept.append(det)
    return kept


class _Detector:
    """Full-frame (downscaled), region-of-interest and motion-region detection on top of ``detect_faces``."""

    def __init__(self, config: AnalysisConfig) -> None:
        from .detect import detect_faces

        self.config = config
        self._detect = detect_faces
        self.params = dict(config.detector_params)
        self._clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))

    def _run(self, image: np.ndarray, scale: float, offset: tuple[int, int], min_size: int,
             scale_factor: float | None = None) -> list[tuple]:
        params = dict(self.params)
        if self.config.detector == "haar":
            params.setdefault("min_size", min_size)
            if scale_factor:
                params.setdefault("scale_factor", scale_factor)
            if self.config.contrast != "global":
                params.setdefault("equalize", False)
                if self.config.contrast == "clahe":
                    image = self._clahe.apply(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        found = []
        for d in self._detect(image, detector=self.config.detector, **params):
            x, y, w, h = d.box
            box = (int(x / scale) + offset[0], int(y / scale) + offset[1], int(w / scale), int(h / scale))
            landmarks = None
            if d.landmarks:
                landmarks = tuple((px / scale + offset[0], py / scale + offset[1]) for px, py in d.landmarks)
            found.append((box, float(d.confidence), landmarks))
        return found

    def region(self, frame: np.ndarray, region: Box, scale: float, min_size: int = 20,
               scale_factor: float | None = None) -> list[tuple]:
        x, y, w, h = region
        if w < 16 or h < 16:
            return []
        patch = frame[y:y + h, x:x + w]
        if scale != 1.0:
            patch = cv2.resize(patch, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        return self._run(patch, scale, (x, y), min_size, scale_factor)

    def full(self, frame: np.ndarray) -> list[tuple]:
        h, w = frame.shape[:2]
        scale = min(1.0, self.config.detect_width / w)
        return self.region(frame, (0, 0, w, h), scale, min_size=max(16, self.config.min_face_px),
                           scale_factor=self.config.full_scale_factor)

    def around(self, frame: np.ndarray, box: Box) -> list[tuple]:
        h, w = frame.shape[:2]
        roi = expand_box(box, self.config.roi_factor, w, h)
        scale = min(2.0, self.config.roi_face_px / max(1, box[2]))
        return self.region(frame, roi, scale, min_size=max(16, int(self.config.roi_face_px * 0.5)))


class _Matcher:
    """Embed a track's best crops (raw and enhanced) and aggregate their matches, area- and quality-weighted."""

    def __init__(self, gallery: Any, config: AnalysisConfig, clock: _Clock) -> None:
        self.gallery = gallery
        self.config = config
        self.clock = clock
        if config.threshold is None:
            from .match import DEFAULT_THRESHOLD

            self.threshold = float(DEFAULT_THRESHOLD)
        else:
            self.threshold = float(config.threshold)

    def enhance(self, candidate: Candidate) -> tuple[np.ndarray | None, list[Any]]:
        if not self.config.enhance:
            return None, []
        from .pipeline import StepUnavailable, enhance_face
        from .weights import WeightsError

        steps = self._plan(candidate.crop)
        try:
            result = enhance_face(candidate.crop, steps=steps)
        except (StepUnavailable, WeightsError):  # a step's weights are missing: let the pipeline skip it
            result = enhance_face(candidate.crop, steps="auto")
        if not result.records:
            return None, []  # the quality policy found nothing to fix: the enhanced crop is the raw one
        return result.image, list(result.records)

    def _plan(self, crop: np.ndarray) -> Any:
        """The policy's steps for this crop, with ``step_params`` applied, minus steps whose module is absent."""
        if self.config.steps != "auto" or not self.config.step_params:
            return self.config.steps
        from .pipeline import StepUnavailable, resolve_step
        from .quality import QualityPolicy, decide_steps, measure_quality, step_params

        policy, quality = QualityPolicy(), measure_quality(crop)
        plan = []
        for name in decide_steps(quality, policy):
            try:
                resolve_step(name)
            except StepUnavailable:
                continue
            plan.append((name, {**step_params(name, quality, policy), **self.config.step_params.get(name, {})}))
        return plan

    def embed(self, image: np.ndarray, box: Box) -> np.ndarray:
        from .embed import embed_face

        factor = min(4.0, self.config.embed_face_px / max(1, box[2]))
        if factor > 1.0:
            image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
            box = tuple(int(round(v * factor)) for v in box)
        return np.asarray(embed_face(image, box=box, backend=self.config.embed_backend), dtype=np.float32)

    def aggregate(self, vectors: list[np.ndarray], weights: list[float]) -> MatchSummary:
        if not vectors or self.gallery is None or len(self.gallery) == 0:
            return MatchSummary(None, None, None, [])
        from .match import score as match_score

        k = self.config.top_k
        per_crop = [self.gallery.search(v, k, threshold=self.threshold) for v in vectors]
        labels = sorted({str(c.label) for cands in per_crop for c in cands})
        # Exact distance of every crop to every candidate identity (its nearest enrolled photo), also where the
        # identity was outside that crop's top-k: one matrix-vector product per crop.
        all_d = [self.gallery.distances(v) for v in vectors]
        rows_of = {label: np.asarray(self.gallery.labels) == label for label in labels}
        total = float(sum(weights)) or 1.0
        rows = []
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
                         "score": round(match_score(mean, self.threshold), 4), "votes": round(votes / total, 3)})
        rows.sort(key=lambda r: (r["distance"], str(r["label"])))
        rows = rows[:k]
        best = rows[0]
        label = best["label"] if best["distance"] < self.threshold else None
        return MatchSummary(label, best["distance"], best["score"], rows)

    def track_result(self, track: Track, best: list[Candidate]) -> TrackResult:
        crops: list[CropResult] = []
        raw_vecs, enh_vecs, raw_w, enh_w = [], [], [], []
        for cand in best:
            t0 = time.perf_counter()
            enhanced, records = self.enhance(cand)
            t0 = self.clock.add("enhance", t0)
            raw_vec = enh_vec = None
            if min(cand.box[2], cand.box[3]) >= self.config.min_face_px:
                raw_vec = self.embed(cand.crop, cand.box_in_crop)
                if enhanced is not None:
                    sy = enhanced.shape[0] / cand.crop.shape[0]
                    sx = enhanced.shape[1] / cand.crop.shape[1]
                    bx, by, bw, bh = cand.box_in_crop
                    enh_vec = self.embed(enhanced, (round(bx * sx), round(by * sy), round(bw * sx), round(bh * sy)))
                else:
                    enh_vec = raw_vec
            self.clock.add("embed", t0)
            q = cand.quality
            quality = {"score": round(q.score, 4), "face_px": q.face_px, "sharpness": round(q.sharpness, 4),
                       "brightness": round(q.brightness, 4), "frontal": round(q.frontal, 4),
                       "laplacian_var": round(q.laplacian_var, 2), "mean_luma": round(q.mean_luma, 2)}
            crops.append(CropResult(cand.frame_index, cand.timestamp, cand.box, cand.crop, cand.box_in_crop,
                                    enhanced, records, quality, round(cand.weight, 4), raw_vec, enh_vec))
            if raw_vec is not None:
                raw_vecs.append(raw_vec)
                raw_w.append(cand.weight)
                enh_vecs.append(enh_vec)
                enh_w.append(cand.weight)
        t0 = time.perf_counter()
        raw = self.aggregate(raw_vecs, raw_w)
        enh = self.aggregate(enh_vecs, enh_w)
        self.clock.add("match", t0)
        return TrackResult(track.key, track.stable_id, [p.frame_index for p in track.points],
                           [round(p.timestamp, 3) for p in track.points], [p.box for p in track.points], crops, raw,
                           enh, self.threshold)


CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A resume blob that this code cannot continue from (other version or settings, unreadable): start afresh."""


def analyze_video(path: str | Path, *, gallery: Any, config: AnalysisConfig | None = None,
                  progress_cb: Callable[[Progress], None] | None = None,
                  log_cb: Callable[[str, str], None] | None = None, resume_from: bytes | None = None,
                  on_track: Callable[[TrackResult], None] | None = None,
                  checkpoint_cb: Callable[[int, bytes], None] | None = None) -> AnalysisResult:
    """Analyse one footage file (video, GIF or still image) and return the tracks it finished, with their matches.

    ``gallery`` is an ``enhancement.match.Gallery`` (or None: tracks are found but nothing matches).
    ``progress_cb(Progress)`` is called at most once per percent; ``log_cb(level, message)`` receives job log lines;
    ``on_track(TrackResult)`` is called as soon as each track is finished. ``checkpoint_cb(frame_index, blob)``
    receives, every ``checkpoint_every_s`` of footage, the complete state after that frame (open tracks with their
    best crops, motion gate, counters) as bytes; every track finished before it was handed to ``on_track`` first.
    Passing such a blob back as ``resume_from`` continues exactly where that run was, so a resumed run finds the
    same tracks with the same ids as an uninterrupted one. The blob is a pickle: keep it where only this process
    writes and check its digest before passing it back. Raises ``enhancement.video.DecodeError`` when the file
    cannot be read at all.
    """
    config = config or AnalysisConfig()
    say = log_cb or (lambda level, msg: log.log(logging.getLevelName(level.upper()), msg))
    clock = _Clock()
    try:
        state = pickle.loads(resume_from) if resume_from else None
    except Exception as exc:  # classes moved or renamed since it was written
        raise CheckpointError(f"the checkpoint cannot be read by this version: {exc}") from exc
    if state is not None and (state.get("version") != CHECKPOINT_VERSION or state.get("config") != config.to_dict()):
        raise CheckpointError("the checkpoint was written by another version or with other settings")
    start = state["frame_index"] + 1 if state else 0
    reader = FrameReader(path, max_fps=config.max_fps, start_frame=start)
    info = reader.info
    step = reader.step
    is_image = info.kind == "image"
    fps = info.fps or 1.0
    detector = _Detector(config)
    matcher = _Matcher(gallery, config, clock)
    gate = MotionGate() if config.motion_gating and not is_image else None
    results: list[TrackResult] = []
    min_dets = 1 if is_image else config.min_detections
    last_percent = -1
    if state is None:
        tracker = Tracker(max_gap=max(1, int(round(config.max_gap_seconds * fps))))
        crops: dict[int, BestCrops] = {}
        frames_analysed = faces_found = tracks_before = 0
        moved_since_full = True
        last_checkpoint_ts = 0.0
    else:
        tracker, crops = state["tracker"], state["crops"]
        frames_analysed, faces_found = state["frames_analysed"], state["faces_found"]
        tracks_before, moved_since_full = state["tracks_done"], state["moved_since_full"]
        last_checkpoint_ts = state["timestamp"]
        if gate is not None:
            gate.restore(state["gate_previous"])
    checkpoint: int | None = state["frame_index"] if state else None
    say("info", f"analysing {info.kind} {info.width}x{info.height}, {info.frame_count} frame(s) at "
                f"{info.fps:.2f} fps; every {step} frame(s); detector {config.detector}"
                + (f"; resuming after frame {checkpoint} with {len(tracker.active)} open track(s)" if state else ""))

    def finish(tracks: list[Track]) -> None:
        for track in tracks:
            store = crops.pop(track.track_id, None)
            if len(track.points) < min_dets or store is None or not store.best():
                continue
            result = matcher.track_result(track, store.best())
            name = result.decision or "unknown"
            say("info", f"track {track.key}: {len(track.points)} detections, frames {result.first_frame}-"
                        f"{result.last_frame}, match {name}")
            if on_track:
                on_track(result)
                # The caller has stored it: keep only the summary, so memory does not grow with the video's length
                # (the 10-minute run grew ~0.3 MiB per track while whole results, crops included, were kept).
                for crop in result.crops:
                    crop.crop = crop.enhanced = None
            results.append(result)

    def snapshot(frame_index: int, timestamp: float) -> bytes:
        return pickle.dumps({
            "version": CHECKPOINT_VERSION, "config": config.to_dict(), "frame_index": frame_index,
            "timestamp": timestamp, "tracker": tracker, "crops": crops, "frames_analysed": frames_analysed,
            "faces_found": faces_found, "tracks_done": tracks_before + len(results),
            "moved_since_full": moved_since_full, "gate_previous": gate.snapshot() if gate is not None else None,
        }, protocol=pickle.HIGHEST_PROTOCOL)

    t0 = time.perf_counter()
    for frame in reader:
        t0 = clock.add("decode", t0)
        image = frame.image
        frames_analysed += 1
        n = frame.index // step
        motion = gate.update(image) if gate is not None else (0, 0, image.shape[1], image.shape[0])
        moved_since_full = moved_since_full or motion is not None
        t0 = clock.add("motion", t0)

        scheduled = is_image or n % config.detect_every == 0
        detections: list[tuple] = []
        for track in tracker.active:
            detections += detector.around(image, track.last_box)
        if scheduled and moved_since_full:
            detections += detector.full(image)
            moved_since_full = False
        elif motion is not None and not scheduled:
            # Something moved where no track is: search that region now rather than wait for the next full pass.
            covered = any(iou(motion, expand_box(t.last_box, config.roi_factor, image.shape[1], image.shape[0])) > 0.5
                          for t in tracker.active)
            if not covered and motion[2] * motion[3] < 0.25 * image.shape[0] * image.shape[1]:
                scale = min(1.0, config.detect_width / image.shape[1])
                detections += detector.region(image, motion, scale, min_size=max(16, config.min_face_px),
                                              scale_factor=config.full_scale_factor)
        detections = _nms([d for d in detections if min(d[0][2], d[0][3]) >= 8])
        faces_found += len(detections)
        t0 = clock.add("detect", t0)

        closed = tracker.update(frame.index, frame.timestamp, detections)
        t0 = clock.add("track", t0)
        for track in tracker.active:
            if track.last_frame == frame.index:
                point = track.points[-1]
                store = crops.setdefault(track.track_id, BestCrops(keep=config.keep_best))
                store.offer(image, frame.index, frame.timestamp, point.box, point.landmarks)
        t0 = clock.add("crops", t0)
        finish(closed)

        if checkpoint_cb and not is_image and frame.timestamp - last_checkpoint_ts >= config.checkpoint_every_s:
            checkpoint_cb(frame.index, snapshot(frame.index, frame.timestamp))
            checkpoint, last_checkpoint_ts = frame.index, frame.timestamp
        percent = 100.0 * (frame.index + 1) / max(1, info.frame_count)
        if progress_cb and int(percent) != last_percent:
            last_percent = int(percent)
            progress_cb(Progress(frame.index, info.frame_count, min(100.0, percent), frames_analysed, faces_found,
                                 tracks_before + len(results), checkpoint))
        t0 = time.perf_counter()
    finish(tracker.finish())
    if reader.report.stopped_early:
        say("warning", reader.report.reason + f"; kept the {len(results)} track(s) found before that point")
    if progress_cb:
        progress_cb(Progress(reader.report.last_index, info.frame_count, 100.0, frames_analysed, faces_found,
                             tracks_before + len(results), checkpoint))
    say("info", f"done: {frames_analysed} frames analysed, {faces_found} face detections, "
                f"{tracks_before + len(results)} track(s) in all, {sum(1 for r in results if r.decision)} matched"
                + (" since the resume" if state else ""))
    return AnalysisResult(info, results, reader.report, frames_analysed, faces_found, clock.seconds, checkpoint,
                          config)

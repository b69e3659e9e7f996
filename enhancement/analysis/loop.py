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
- each track keeps only its ``crops_kept`` best crops (bounded memory); those are embedded and fused into the match,
  the best ``keep_best`` of them also enhanced and kept as evidence.

Resuming: every ``checkpoint_every_s`` of footage the whole analysis state (open tracks and their best crops, the
motion gate, counters) is handed to ``checkpoint_cb`` as bytes, after every track finished so far went to
``on_track``. ``analyze_video(..., resume_from=blob)`` continues from there exactly as the uninterrupted run would,
so the tracks it finds carry the same ids and the caller can de-duplicate by them (``checkpoint.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..frames import BestCrops
from ..track import Track, iou
from ..video import Box, FootageInfo, Frame, FrameReader, MotionGate, expand_box
from . import checkpoint
from .config import AnalysisConfig
from .detection import Found, RegionDetector, nms
from .matching import TrackMatcher
from .results import AnalysisResult, Progress, TrackResult
from .timing import StageClock

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]
LogCallback = Callable[[str, str], None]
TrackCallback = Callable[[TrackResult], None]
CheckpointCallback = Callable[[int, bytes], None]


class FrameLoop:
    """One analysis run: the per-frame work, the tracks it finishes and the callbacks it owes."""

    def __init__(self, info: FootageInfo, step: int, config: AnalysisConfig, gallery: Any,
                 state: checkpoint.LoopState | None, say: LogCallback, on_track: TrackCallback | None,
                 checkpoint_cb: CheckpointCallback | None = None, progress_cb: ProgressCallback | None = None) -> None:
        self.step, self.config, self.say = step, config, say
        self.on_track, self.checkpoint_cb, self.progress_cb = on_track, checkpoint_cb, progress_cb
        self.info = info
        self.is_image = self.info.kind == "image"
        self.clock = StageClock()
        self.detector = RegionDetector(config)
        self.matcher = TrackMatcher(gallery, config, self.clock)
        self.gate = MotionGate() if config.motion_gating and not self.is_image else None
        self.min_detections = 1 if self.is_image else config.min_detections
        self.resumed = state is not None
        if state is None:
            state = checkpoint.LoopState.fresh(max(1, int(round(config.max_gap_seconds * (self.info.fps or 1.0)))))
        elif self.gate is not None:
            self.gate.restore(state.gate_previous)
        self.state = state
        self.results: list[TrackResult] = []
        self.finished = 0
        self.improved: set[int] = set()  # tracks whose best crops changed on the last frame (the stream re-matches)
        self.last_percent = -1

    keep_results = True  # a file's run returns its tracks; a stream's never ends, so it keeps none (stream.py)

    @property
    def tracks_done(self) -> int:
        return self.state.tracks_before + self.finished

    def run(self, reader: FrameReader) -> AnalysisResult:
        """A whole file: every frame the reader yields, then the tracks still open at its end."""
        info, state = self.info, self.state
        self.say("info", f"analysing {info.kind} {info.width}x{info.height}, {info.frame_count} frame(s) at "
                         f"{info.fps:.2f} fps; every {reader.step} frame(s); detector {self.config.detector}"
                         + (f"; resuming after frame {state.checkpoint} with {len(state.tracker.active)} open "
                            f"track(s)" if self.resumed else ""))
        t0 = time.perf_counter()
        for frame in reader:
            t0 = self.clock.add("decode", t0)
            self.analyse(frame, t0)
            self.after_frame(frame)
            t0 = time.perf_counter()
        self.finish(state.tracker.finish())
        if reader.report.stopped_early:
            self.say("warning", reader.report.reason + f"; kept the {len(self.results)} track(s) found before that "
                                                       "point")
        if self.progress_cb:
            self.progress_cb(Progress(reader.report.last_index, info.frame_count, 100.0, state.frames_analysed,
                                      state.faces_found, self.tracks_done, state.checkpoint))
        self.say("info", f"done: {state.frames_analysed} frames analysed, {state.faces_found} face detections, "
                         f"{self.tracks_done} track(s) in all, {sum(1 for r in self.results if r.decision)} matched"
                         + (" since the resume" if self.resumed else ""))
        return AnalysisResult(info, self.results, reader.report, state.frames_analysed, state.faces_found,
                              self.clock.seconds, state.checkpoint, self.config)

    def analyse(self, frame: Frame, t0: float) -> None:
        """Motion, detection, tracking and best crops for one frame; finishes the tracks it closes."""
        state, image = self.state, frame.image
        state.frames_analysed += 1
        self.improved.clear()
        motion = self.gate.update(image) if self.gate is not None else (0, 0, image.shape[1], image.shape[0])
        state.moved_since_full = state.moved_since_full or motion is not None
        t0 = self.clock.add("motion", t0)

        detections = nms([d for d in self.detect(frame, motion) if min(d[0][2], d[0][3]) >= 8])
        state.faces_found += len(detections)
        t0 = self.clock.add("detect", t0)

        closed = state.tracker.update(frame.index, frame.timestamp, detections)
        t0 = self.clock.add("track", t0)
        for track in state.tracker.active:
            if track.last_frame == frame.index:
                point = track.points[-1]
                store = state.crops.setdefault(track.track_id, BestCrops(keep=self.config.crops_kept))
                if store.offer(image, frame.index, frame.timestamp, point.box, point.landmarks):
                    self.improved.add(track.track_id)
        self.clock.add("crops", t0)
        self.finish(closed)

    def detect(self, frame: Frame, motion: Box | None) -> list[Found]:
        """Around every live track; the full frame when scheduled and something moved since the last full pass;
        else a moving region that no track covers, now rather than at the next full pass."""
        state, image, config = self.state, frame.image, self.config
        scheduled = self.is_image or (frame.index // self.step) % config.detect_every == 0
        detections: list[Found] = []
        for track in state.tracker.active:
            detections += self.detector.around(image, track.last_box)
        if scheduled and state.moved_since_full:
            detections += self.detector.full(image)
            state.moved_since_full = False
        elif motion is not None and not scheduled:
            h, w = image.shape[:2]
            covered = any(iou(motion, expand_box(t.last_box, config.roi_factor, w, h)) > 0.5
                          for t in state.tracker.active)
            if not covered and motion[2] * motion[3] < 0.25 * h * w:
                detections += self.detector.moving(image, motion)
        return detections

    def finish(self, tracks: list[Track]) -> None:
        """Match each closed track long enough to count and hand it to ``on_track``."""
        for track in tracks:
            store = self.state.crops.pop(track.track_id, None)
            if len(track.points) < self.min_detections or store is None or not store.best():
                continue
            result = self.final_result(track, store)
            self.finished += 1
            self.hand_over(track, result)

    def hand_over(self, track: Track, result: TrackResult) -> None:
        """Log a finished track's outcome and give it to ``on_track``."""
        self.say("info", f"track {track.key}: {len(track.points)} detections, frames {result.first_frame}-"
                         f"{result.last_frame}, match {result.decision or 'unknown'}")
        if self.on_track:
            self.on_track(result)
            # The caller has stored it: keep only the summary, so memory does not grow with the video's length
            # (the 10-minute run grew ~0.3 MiB per track while whole results, crops included, were kept).
            for crop in result.crops:
                crop.crop = crop.enhanced = None
            if result.averaged is not None:
                result.averaged = replace(result.averaged, image=None)
        if self.keep_results:
            self.results.append(result)

    def final_result(self, track: Track, store: BestCrops) -> TrackResult:
        return self.matcher.track_result(track, store.best())

    def after_frame(self, frame: Frame) -> None:
        """Checkpoint every ``checkpoint_every_s`` of footage; progress at most once per percent."""
        state, info = self.state, self.info
        if (self.checkpoint_cb and not self.is_image
                and frame.timestamp - state.last_checkpoint_ts >= self.config.checkpoint_every_s):
            gate_previous = self.gate.snapshot() if self.gate is not None else None
            self.checkpoint_cb(frame.index, checkpoint.dump(state, self.config, frame.index, frame.timestamp,
                                                            self.tracks_done, gate_previous))
            state.checkpoint, state.last_checkpoint_ts = frame.index, frame.timestamp
        percent = 100.0 * (frame.index + 1) / max(1, info.frame_count)
        if self.progress_cb and int(percent) != self.last_percent:
            self.last_percent = int(percent)
            self.progress_cb(Progress(frame.index, info.frame_count, min(100.0, percent), state.frames_analysed,
                                      state.faces_found, self.tracks_done, state.checkpoint))


def analyze_video(path: str | Path, *, gallery: Any, config: AnalysisConfig | None = None,
                  progress_cb: ProgressCallback | None = None, log_cb: LogCallback | None = None,
                  resume_from: bytes | None = None, on_track: TrackCallback | None = None,
                  checkpoint_cb: CheckpointCallback | None = None) -> AnalysisResult:
    """Analyse one footage file (video, GIF or still image) and return the tracks it finished, with their matches.

    ``gallery`` is an ``enhancement.match.Gallery`` (or None: tracks are found but nothing matches).
    ``progress_cb(Progress)`` is called at most once per percent; ``log_cb(level, message)`` receives job log lines;
    ``on_track(TrackResult)`` is called as soon as each track is finished. ``checkpoint_cb(frame_index, blob)``
    receives, every ``checkpoint_every_s`` of footage, the complete state after that frame (open tracks with their
    best crops, motion gate, counters) as bytes; every track finished before it was handed to ``on_track`` first.
    Passing such a blob back as ``resume_from`` continues exactly where that run was, so a resumed run finds the
    same tracks with the same ids as an uninterrupted one. The blob is a pickle: keep it where only this process
    writes and check its digest before passing it back. Raises ``enhancement.video.DecodeError`` when the file
    cannot be read at all, ``CheckpointError`` for a blob this code cannot continue from.
    """
    config = config or AnalysisConfig()
    state, start = None, 0
    if resume_from:
        state, last_frame = checkpoint.load(resume_from, config)
        start = last_frame + 1
    reader = FrameReader(path, max_fps=config.max_fps, start_frame=start)
    return FrameLoop(reader.info, reader.step, config, gallery, state, log_cb or log_to_logger, on_track,
                     checkpoint_cb, progress_cb).run(reader)


def log_to_logger(level: str, message: str) -> None:
    log.log(logging.getLevelName(level.upper()), message)


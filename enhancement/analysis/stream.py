"""Streaming mode of the frame loop: frames pushed one at a time from a live source, matches reported while the track
is still open.

Conventions as in ``loop.py``: frames ``uint8`` BGR, boxes ``(x, y, w, h)`` in frame pixels; a frame's timestamp is
the wall-clock time (seconds since the epoch) at which it was captured, so results carry capture times.

The per-frame work (motion gate, detection passes, tracker, best crops) is ``FrameLoop.analyse``, exactly as for a
file. What differs:
- there is no end: ``feed(image, timestamp)`` analyses one frame and returns; tracks close by the gap rule only;
- an open track whose best crops changed is matched again (at most every ``rematch_every_s``), and each time it
  matches a suspect ``on_match(result)`` is called at once, so a caller can alert on the first match and let later
  calls improve the stored sighting; ``on_track(result)`` still receives the final result when the track closes.
  Once a track has matched, later matches only improve what is stored, so they come at most every
  ``improve_every_s``: a walking face offers a better crop nearly every frame, and each new crop costs its
  enhancement and two embeddings (on a 720p camera these re-matches were most of the matching work);
- a crop's enhancement and embeddings are computed once and reused by later matches of the same track (a stream
  re-matches the same best crops many times);
- nothing is kept once handed over (memory stays flat for as long as the stream runs).

``background=True`` moves matching (enhancement, embedding, the gallery search, and the callbacks) to one thread of
the loop's own, so that ``feed`` only detects, tracks and keeps crops: a frame that starts a match no longer holds up
the next frame, and a live camera keeps its analysis rate while alerts are being raised. Jobs run in submission
order. A track has at most one match waiting or running: while it has, the track's newer crops wait (they are
matched once it is done, so the rule above sees its outcome); a closed track's final result always runs, after any
match of the same track. ``on_match``/``on_track`` are then called from that
thread, one at a time; ``close()`` waits for every job. A job that raises is re-raised by the next ``feed``, as it
would have been raised by ``feed`` itself without the thread.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..frames import BestCrops, Candidate
from ..track import Track
from ..video import FootageInfo, Frame
from .config import AnalysisConfig
from .loop import FrameLoop, LogCallback, TrackCallback, log_to_logger
from .matching import TrackMatcher
from .results import AveragedChip, CropResult, TrackResult

MatchCallback = Callable[[TrackResult], None]


class CachingMatcher(TrackMatcher):
    """Enhances and embeds each kept crop once per track; the caches follow the track's best crops."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache: dict[tuple[int, int, tuple[int, ...]], CropResult] = {}
        self.vectors: dict[tuple[int, int, tuple[int, ...]], tuple[np.ndarray, np.ndarray | None] | None] = {}
        self.chips: dict[tuple[int, int, tuple[int, ...]], np.ndarray | None] = {}
        self.averaged: dict[tuple, AveragedChip | None] = {}  # by the averaged crops' keys

    @staticmethod
    def key(cand: Candidate) -> tuple[int, int, tuple[int, ...]]:
        return (id(cand.crop), cand.frame_index, tuple(cand.box))

    def crop_result(self, cand: Candidate) -> CropResult:
        key = self.key(cand)
        if key not in self.cache:
            self.cache[key] = super().crop_result(cand)
        return self.cache[key]

    def fusion_vectors(self, cand: Candidate) -> tuple[np.ndarray, np.ndarray | None] | None:
        key = self.key(cand)
        if key in self.cache:  # was an evidence crop earlier: its raw descriptors are the same
            crop = self.cache[key]
            if crop.raw_vector is not None and (crop.student_vector is not None or not self.use_student) and (
                    self.config.student_input == "raw" or crop.enhanced is None):
                return crop.raw_vector, crop.student_vector
        if key not in self.vectors:
            self.vectors[key] = super().fusion_vectors(cand)
        return self.vectors[key]

    def raw_chip(self, cand: Candidate) -> np.ndarray | None:
        key = self.key(cand)
        if key not in self.chips:
            self.chips[key] = super().raw_chip(cand)
        return self.chips[key]

    def averaged_chip(self, best: list[Candidate]) -> AveragedChip | None:
        key = tuple(self.key(c) for c in best[:self.config.chip_average_keep])
        if key not in self.averaged:
            self.averaged[key] = super().averaged_chip(best)
        return self.averaged[key]

    def forget(self, keep: list[Candidate]) -> None:
        alive = {self.key(c) for c in keep}
        for cache in (self.cache, self.vectors, self.chips):
            for key in [k for k in cache if k not in alive]:
                del cache[key]
        for key in [k for k in self.averaged if not set(k) <= alive]:
            del self.averaged[key]


class StreamLoop(FrameLoop):
    keep_results = False

    def __init__(self, info: FootageInfo, config: AnalysisConfig, gallery: Any, *, on_match: MatchCallback,
                 on_track: TrackCallback | None = None, log_cb: LogCallback | None = None,
                 rematch_every_s: float = 0.5, improve_every_s: float = 2.0, background: bool = False,
                 thread_exit: Callable[[], None] | None = None) -> None:
        super().__init__(info, 1, config, gallery, None, log_cb or log_to_logger, on_track)
        self.improve_every_s = improve_every_s
        self.matched: set[int] = set()  # tracks that have matched a suspect (set by whichever thread matches)
        self.caching = CachingMatcher(gallery, config, self.clock)
        self.matcher = self.caching
        self.on_match = on_match
        self.rematch_every_s = rematch_every_s
        self.dirty: set[int] = set()
        self.last_attempt: dict[int, float] = {}
        self.next_index = 0
        self.background = background
        self.thread_exit = thread_exit
        self.jobs: queue.Queue[tuple[str, int, Track, list[Candidate], list[Candidate]] | None] = queue.Queue()
        self.in_flight: set[int] = set()  # tracks with a match job waiting or running
        self.job_seq = 0
        self.failure: BaseException | None = None
        # job sequence number -> (its track's last capture time, the capture time of the frame that queued it),
        # until it has run
        self.waiting: dict[int, tuple[float, float]] = {}
        self.frame_ts = -math.inf  # capture time of the frame being analysed
        self.waiting_lock = threading.Lock()
        self.worker: threading.Thread | None = None
        if background:
            self.worker = threading.Thread(target=self._work, name="stream matcher", daemon=True)
            self.worker.start()

    @property
    def pending(self) -> int:
        """Matching jobs waiting or running (background mode)."""
        with self.waiting_lock:
            return len(self.waiting)

    def oldest_pending(self) -> float | None:
        """The capture time of the oldest frame a waiting or running job is about (None: matching has caught up).
        A caller keeping frames around its matches (a camera's evidence clips) keeps them from there on."""
        with self.waiting_lock:
            return min((about for about, _ in self.waiting.values()), default=None)

    def behind_since(self) -> float | None:
        """The capture time of the oldest analysed frame whose matching work is still waiting or running (None: none
        is): how far behind the live stream the alerts are. A closed track's final match is about its last detection,
        ``max_gap_seconds`` before the frame that closed it; that wait is the gap rule, not a backlog, so this counts
        from the frame that queued the job."""
        with self.waiting_lock:
            return min((queued for _, queued in self.waiting.values()), default=None)

    def feed(self, image: Any, timestamp: float) -> Frame:
        """Analyse one captured frame; matches and finished tracks go to the callbacks before this returns (with
        ``background``: they are queued for the matching thread, which calls the callbacks)."""
        if self.failure is not None:  # the matching thread failed: fail here, as feed itself would have
            failure, self.failure = self.failure, None
            raise failure
        h, w = image.shape[:2]
        if (w, h) != (self.info.width, self.info.height):
            self.resize(w, h)
        frame = Frame(self.next_index, float(timestamp), image)
        self.next_index += 1
        self.frame_ts = frame.timestamp
        self.analyse(frame, time.perf_counter())
        self.dirty |= self.improved
        self.match_open(frame.timestamp)
        return frame

    def resize(self, width: int, height: int) -> None:
        """The source changed resolution: close every open track (its boxes are in the old frame's pixels) and carry
        on with the new size."""
        self.close_all()
        self.say("warning", f"resolution changed from {self.info.width}x{self.info.height} to {width}x{height}")
        self.info = FootageInfo("video", width, height, self.info.fps, 0, 0.0)
        if self.gate is not None:
            self.gate.reset()

    def close_all(self) -> None:
        """Hand over every open track as finished (the stream stopped, or its geometry changed)."""
        self.finish(self.state.tracker.finish())

    def match_open(self, now: float) -> None:
        for track in self.state.tracker.active:
            tid = track.track_id
            if tid not in self.dirty or len(track.points) < self.min_detections or tid in self.in_flight:
                continue
            every = self.improve_every_s if tid in self.matched else self.rematch_every_s
            if now - self.last_attempt.get(tid, -math.inf) < every:
                continue
            store = self.state.crops.get(tid)
            if store is None or not store.best():
                continue
            self.dirty.discard(tid)
            self.last_attempt[tid] = now
            if self.background:
                self._submit("match", track, store.best())
            else:
                self._match(track, store.best(), self._alive())

    def finish(self, tracks: list[Track]) -> None:
        if not self.background:
            super().finish(tracks)
            return
        for track in tracks:  # as FrameLoop.finish, with the matching and the callback in the matching thread
            store = self.state.crops.pop(track.track_id, None)
            self._unschedule(track.track_id)
            if len(track.points) < self.min_detections or store is None or not store.best():
                continue
            self.finished += 1
            self._submit("final", track, store.best())

    def final_result(self, track: Track, store: BestCrops) -> TrackResult:
        result = self.matcher.track_result(track, store.best())
        self.caching.forget(self._alive(exclude=track.track_id))
        self._unschedule(track.track_id)
        return result

    def _unschedule(self, track_id: int) -> None:
        """A closed track leaves the re-match schedule."""
        self.dirty.discard(track_id)
        self.last_attempt.pop(track_id, None)
        self.matched.discard(track_id)

    # --- matching --------------------------------------------------------------------------------------------

    def _alive(self, exclude: int | None = None) -> list[Candidate]:
        """Every crop an open track still keeps: the caches may forget the rest."""
        return [c for t, s in self.state.crops.items() if t != exclude for c in s.best()]

    def _match(self, track: Track, best: list[Candidate], alive: list[Candidate]) -> None:
        result = self.matcher.track_result(track, best)
        self.caching.forget(alive)
        if result.decision:
            self.matched.add(track.track_id)
            self.on_match(result)

    def _final(self, track: Track, best: list[Candidate], alive: list[Candidate]) -> None:
        result = self.matcher.track_result(track, best)
        self.caching.forget(alive)
        self.hand_over(track, result)
        self.matched.discard(track.track_id)  # after any match of this track, which ran before this job

    def _submit(self, kind: str, track: Track, best: list[Candidate]) -> None:
        """Queue a job with copies of what the frame loop goes on changing (the track's points, the kept crops)."""
        self.job_seq += 1
        if kind == "match":
            self.in_flight.add(track.track_id)
        snapshot = Track(track.track_id, list(track.points), track.ordinal)
        exclude = track.track_id if kind == "final" else None
        with self.waiting_lock:
            self.waiting[self.job_seq] = (track.points[-1].timestamp, max(self.frame_ts, track.points[-1].timestamp))
        self.jobs.put((kind, self.job_seq, snapshot, list(best), self._alive(exclude)))

    def _work(self) -> None:
        try:
            while (job := self.jobs.get()) is not None:
                kind, seq, track, best, alive = job
                try:
                    if kind == "final":
                        self._final(track, best, alive)
                    else:
                        self._match(track, best, alive)
                except BaseException as exc:  # handed to the frame loop's next feed
                    self.failure = exc
                finally:
                    if kind == "match":
                        self.in_flight.discard(track.track_id)
                    with self.waiting_lock:
                        self.waiting.pop(seq, None)
                    self.jobs.task_done()
        finally:
            self.jobs.task_done()  # the None that ended the loop
            if self.thread_exit is not None:
                self.thread_exit()

    def close(self, timeout: float | None = None) -> None:
        """Wait for every queued job (their callbacks included), then end the matching thread."""
        if self.worker is not None and self.worker.is_alive():
            self.jobs.put(None)
            self.worker.join(timeout)

    def wait_idle(self) -> None:
        """Block until every job submitted so far has run (background mode; at once otherwise)."""
        if self.worker is not None and self.worker.is_alive():
            self.jobs.join()

    @property
    def open_tracks(self) -> list[Track]:
        return list(self.state.tracker.active)


def stream_loop(*, width: int, height: int, fps: float, gallery: Any, config: AnalysisConfig | None = None,
                on_match: MatchCallback, on_track: TrackCallback | None = None,
                log_cb: LogCallback | None = None, rematch_every_s: float = 0.5, improve_every_s: float = 2.0,
                background: bool = False, thread_exit: Callable[[], None] | None = None) -> StreamLoop:
    """A streaming analysis of frames of ``width`` x ``height`` arriving at about ``fps`` (the analysis rate).
    ``background``: match in a thread of the loop's own (module docstring); ``thread_exit`` runs when it ends."""
    config = config or AnalysisConfig(max_fps=fps)
    info = FootageInfo("video", int(width), int(height), float(fps), 0, 0.0)
    return StreamLoop(info, config, gallery, on_match=on_match, on_track=on_track, log_cb=log_cb,
                      rematch_every_s=rematch_every_s, improve_every_s=improve_every_s, background=background,
                      thread_exit=thread_exit)

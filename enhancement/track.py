"""IoU / centroid face tracker with gap tolerance.

Conventions: boxes are ``(x, y, w, h)`` ints in frame pixels; frames are identified by their index in the footage.

Detectors miss faces on many frames of real footage (a turned head, motion blur), so a track survives up to
``max_gap`` frames without a detection before it is closed. Association is greedy on IoU; when boxes no longer
overlap (a fast walker seen at a low analysis rate), a detection whose centre lies within ``centroid_factor`` face
widths of the track's last centre and whose size is similar still continues the track.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Box = tuple[int, int, int, int]


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def centre_distance(a: Box, b: Box) -> float:
    return math.hypot((a[0] + a[2] / 2) - (b[0] + b[2] / 2), (a[1] + a[3] / 2) - (b[1] + b[3] / 2))


@dataclass
class TrackPoint:
    frame_index: int
    timestamp: float
    box: Box
    confidence: float
    landmarks: Any = None


@dataclass
class Track:
    track_id: int
    points: list[TrackPoint] = field(default_factory=list)
    ordinal: int = 0  # among the tracks that started on the same frame, in detection order

    @property
    def first_frame(self) -> int:
        return self.points[0].frame_index

    @property
    def last_frame(self) -> int:
        return self.points[-1].frame_index

    @property
    def last_box(self) -> Box:
        return self.points[-1].box

    @property
    def key(self) -> str:
        """Stable across re-runs of the same footage with the same settings: first frame and first box."""
        x, y, w, h = self.points[0].box
        return f"f{self.first_frame}-{x}-{y}-{w}-{h}"

    @property
    def stable_id(self) -> int:
        """An integer that, unlike ``track_id``, does not depend on where a resumed run started counting."""
        return self.first_frame * 100 + min(self.ordinal, 99)

    def boxes(self) -> dict[int, Box]:
        return {p.frame_index: p.box for p in self.points}


class Tracker:
    """Feed detections frame by frame with :meth:`update`; closed tracks come back from it and from :meth:`finish`."""

    def __init__(self, *, iou_threshold: float = 0.25, max_gap: int = 15, centroid_factor: float = 1.0,
                 size_ratio: float = 1.4) -> None:
        self.iou_threshold = iou_threshold
        self.max_gap = max_gap
        self.centroid_factor = centroid_factor
        self.size_ratio = size_ratio
        self.active: list[Track] = []
        self._next_id = 1

    def _affinity(self, track: Track, box: Box) -> float:
        """Higher is better; 0 means the detection cannot belong to the track."""
        last = track.last_box
        overlap = iou(last, box)
        if overlap >= self.iou_threshold:
            return 1.0 + overlap
        ratio = max(last[2], box[2]) / max(1, min(last[2], box[2]))
        if ratio > self.size_ratio:
            return 0.0
        distance = centre_distance(last, box)
        reach = self.centroid_factor * max(last[2], box[2])
        return 1.0 - distance / reach if distance < reach else 0.0

    def update(self, frame_index: int, timestamp: float,
               detections: list[tuple[Box, float, Any]]) -> list[Track]:
        """Associate ``(box, confidence, landmarks)`` detections; return tracks closed by this frame's gap rule."""
        # Close stale tracks first, so that a person who left long ago cannot absorb a newcomer's detection.
        closed = [t for t in self.active if frame_index - t.last_frame > self.max_gap]
        self.active = [t for t in self.active if frame_index - t.last_frame <= self.max_gap]
        pairs = []
        for ti, track in enumerate(self.active):
            for di, (box, _, _) in enumerate(detections):
                score = self._affinity(track, box)
                if score > 0:
                    pairs.append((score, ti, di))
        pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
        used_tracks: set[int] = set()
        used_dets: set[int] = set()
        for _, ti, di in pairs:
            if ti in used_tracks or di in used_dets:
                continue
            used_tracks.add(ti)
            used_dets.add(di)
            box, conf, landmarks = detections[di]
            self.active[ti].points.append(TrackPoint(frame_index, timestamp, _int_box(box), conf, landmarks))
        ordinal = 0
        for di, (box, conf, landmarks) in enumerate(detections):
            if di not in used_dets:
                track = Track(self._next_id, [TrackPoint(frame_index, timestamp, _int_box(box), conf, landmarks)],
                              ordinal)
                ordinal += 1
                self._next_id += 1
                self.active.append(track)
        return closed

    def finish(self) -> list[Track]:
        closed, self.active = self.active, []
        return closed


def _int_box(box: Any) -> Box:
    x, y, w, h = (int(v) for v in box)
    return (x, y, w, h)

"""Checkpoint and resume: the frame loop's whole state after one frame, as bytes the caller keeps.

The blob is a pickle of a plain dict (``version``, ``config``, ``frame_index``, ``timestamp``, ``tracker``,
``crops``, ``frames_analysed``, ``faces_found``, ``tracks_done``, ``moved_since_full``, ``gate_previous``) holding
``enhancement.track.Tracker`` and ``enhancement.frames.BestCrops`` objects; its layout is what earlier versions
wrote, so a job interrupted before an upgrade still resumes. Keep it where only this process writes and check its
digest before passing it back.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any

from ..frames import BestCrops
from ..track import Tracker
from .config import AnalysisConfig

CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A resume blob that this code cannot continue from (other version or settings, unreadable): start afresh."""


@dataclass
class LoopState:
    """Everything the frame loop carries from one frame to the next."""

    tracker: Tracker
    crops: dict[int, BestCrops] = field(default_factory=dict)  # best crops of each open track, by track id
    frames_analysed: int = 0
    faces_found: int = 0
    tracks_before: int = 0  # tracks finished before the resume
    moved_since_full: bool = True  # something moved since the last full-frame detector pass
    last_checkpoint_ts: float = 0.0
    checkpoint: int | None = None  # frame index of the last checkpoint handed out (or resumed from)
    gate_previous: Any = None  # the motion gate's snapshot, restored on resume

    @classmethod
    def fresh(cls, max_gap_frames: int) -> LoopState:
        return cls(tracker=Tracker(max_gap=max_gap_frames))


def dump(state: LoopState, config: AnalysisConfig, frame_index: int, timestamp: float, tracks_done: int,
         gate_previous: Any) -> bytes:
    return pickle.dumps({
        "version": CHECKPOINT_VERSION, "config": config.to_dict(), "frame_index": frame_index,
        "timestamp": timestamp, "tracker": state.tracker, "crops": state.crops,
        "frames_analysed": state.frames_analysed, "faces_found": state.faces_found, "tracks_done": tracks_done,
        "moved_since_full": state.moved_since_full, "gate_previous": gate_previous,
    }, protocol=pickle.HIGHEST_PROTOCOL)


def load(blob: bytes, config: AnalysisConfig) -> tuple[LoopState, int]:
    """``(state, frame index it was taken after)``; raises ``CheckpointError`` for a blob this code cannot use."""
    try:
        data = pickle.loads(blob)
    except Exception as exc:  # classes moved or renamed since it was written
        raise CheckpointError(f"the checkpoint cannot be read by this version: {exc}") from exc
    if data.get("version") != CHECKPOINT_VERSION or data.get("config") != config.to_dict():
        raise CheckpointError("the checkpoint was written by another version or with other settings")
    state = LoopState(tracker=data["tracker"], crops=data["crops"], frames_analysed=data["frames_analysed"],
                      faces_found=data["faces_found"], tracks_before=data["tracks_done"],
                      moved_since_full=data["moved_since_full"], last_checkpoint_ts=data["timestamp"],
                      checkpoint=data["frame_index"], gate_previous=data["gate_previous"])
    return state, data["frame_index"]

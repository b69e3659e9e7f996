"""Live sources read in a thread of their own, keeping only the latest frame.

Conventions: frames are ``uint8`` BGR arrays (H, W, 3); capture times are wall-clock seconds since the epoch
(``time.time()`` when the frame came off the source). Pure library code: no Django.

Why "latest only": analysis runs slower than some sources deliver, and a queue of old frames would make every alert
later than the one before. The reader thread decodes every frame the source sends (a network stream must be drained
or it backs up in the socket) but keeps one slot; the analysis takes whatever is newest and the rest is dropped.

A source that fails (cannot connect, stops sending, ends, sends garbage) is reopened with exponential backoff; the
reader's ``state`` / ``reason`` say what is going on, in words fit for an operator, with the URL masked by the
caller-supplied ``display`` name (credentials never reach a message).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)

CONNECTING, LIVE, STALLED, FAILED = "connecting", "live", "stalled", "failed"


@dataclass(frozen=True)
class LiveFrame:
    seq: int
    captured_at: float
    image: np.ndarray


class LatestFrameReader:
    """Read ``source`` (an rtsp:// or http(s):// URL, a ``/dev/videoN`` device or a video file played at its own
    frame rate in a loop) in a daemon thread; :meth:`latest` returns the newest frame not yet taken."""

    def __init__(self, source: str, kind: str, *, display: str = "", open_timeout_s: float = 5.0,
                 stall_after_s: float = 3.0, backoff_s: tuple[float, float] = (0.5, 2.0)) -> None:
        self.source, self.kind = source, kind
        self.display = display or kind
        self.open_timeout_s, self.stall_after_s = open_timeout_s, stall_after_s
        self.backoff_min, self.backoff_max = backoff_s
        self.state, self.reason = CONNECTING, ""
        self.frames_received = 0
        self.reconnects = 0
        self.last_frame_at: float | None = None
        self.size: tuple[int, int] | None = None
        self._slot: LiveFrame | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._arrivals: deque[float] = deque(maxlen=64)
        self._thread = threading.Thread(target=self._run, name=f"reader {self.display}", daemon=True)
        self._cap: Any = None

    # --- the analysis side ---------------------------------------------------------------------------------

    def start(self) -> LatestFrameReader:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def latest(self, after_seq: int = -1) -> LiveFrame | None:
        with self._lock:
            frame = self._slot
        return frame if frame is not None and frame.seq > after_seq else None

    def fps(self) -> float:
        """Frames received per second over the last few seconds."""
        now = time.time()
        recent = [t for t in self._arrivals if now - t <= 3.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(1e-6, recent[-1] - recent[0])

    def health(self) -> tuple[str, str]:
        """``(state, reason)``; a live source that sent nothing for ``stall_after_s`` is stalled."""
        state, reason = self.state, self.reason
        if state == LIVE and self.last_frame_at is not None and time.time() - self.last_frame_at > self.stall_after_s:
            return STALLED, f"no frame for {time.time() - self.last_frame_at:.0f} s"
        return state, reason

    # --- the reader thread ---------------------------------------------------------------------------------

    def _set(self, state: str, reason: str = "") -> None:
        if (state, reason) != (self.state, self.reason):
            log.info("camera source %s: %s%s", self.display, state, f" ({reason})" if reason else "")
        self.state, self.reason = state, reason

    def _open(self) -> Any:
        if self.kind == "device":
            if self.source.isdigit():
                return cv2.VideoCapture(int(self.source))
            if not os.path.exists(self.source):
                return None
            return cv2.VideoCapture(self.source, cv2.CAP_V4L2)
        if self.kind == "file" and not os.path.exists(self.source):
            return None
        timeout_ms = int(self.open_timeout_s * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                  int(self.stall_after_s * 1000)]
        # FFmpeg only: other backends would be tried on failure, and some print the URL they were given.
        return cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)

    def _run(self) -> None:
        backoff = self.backoff_min
        while not self._stop.is_set():
            self._set(CONNECTING, self.reason if self.reconnects else "")
            cap = self._open()
            if cap is None or not cap.isOpened():
                what = {"device": "device not found or busy", "file": "file not found or unreadable"}.get(
                    self.kind, "could not connect")
                self._set(FAILED, f"{what}: {self.display}; retrying in {backoff:.1f} s")
                if cap is not None:
                    cap.release()
                self._wait(backoff)
                backoff = min(self.backoff_max, backoff * 2)
                self.reconnects += 1
                continue
            self._cap = cap
            try:
                got_any, reason = self._pump(cap)
            finally:
                cap.release()
                self._cap = None
            if self._stop.is_set():
                break
            if got_any:
                backoff = self.backoff_min
            self._set(FAILED if not got_any else STALLED, f"{reason}; reconnecting in {backoff:.1f} s")
            self._wait(backoff)
            backoff = min(self.backoff_max, backoff * 2)
            self.reconnects += 1

    def _wait(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _pump(self, cap: Any) -> tuple[bool, str]:
        """Read until the source fails; returns whether any frame came and why it stopped."""
        got_any = False
        file_fps = cap.get(cv2.CAP_PROP_FPS) if self.kind == "file" else 0.0
        if not file_fps or not math.isfinite(file_fps) or file_fps > 240:
            file_fps = 25.0
        next_due = time.monotonic()
        failures = 0
        while not self._stop.is_set():
            ok, image = cap.read()
            if not ok or image is None or image.size == 0:
                if self.kind == "file" and got_any:
                    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop the recording
                    ok, image = cap.read()
                if not ok or image is None:
                    failures += 1
                    if failures >= 2 or self.kind != "file":
                        return got_any, ("the source sent no decodable frame" if not got_any
                                         else "the stream stopped")
                    continue
            failures = 0
            if self.kind == "file":  # play at the file's own rate, as a camera would deliver it
                next_due += 1.0 / file_fps
                delay = next_due - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_due = time.monotonic()
            now = time.time()
            got_any = True
            self.frames_received += 1
            self.last_frame_at = now
            self._arrivals.append(now)
            self.size = (image.shape[1], image.shape[0])
            with self._lock:
                seq = self._slot.seq + 1 if self._slot is not None else 0
                self._slot = LiveFrame(seq, now, image)
            if self.state != LIVE:
                self._set(LIVE)
        return got_any, "stopped"

"""Streaming decode of footage for analysis, plus cheap motion gating.

Conventions: frames are ``uint8`` BGR arrays (H, W, 3); boxes are ``(x, y, w, h)`` ints in frame pixels;
timestamps are seconds from the start of the footage.

Footage is never held in memory: :func:`iter_frames` pulls one frame at a time from OpenCV (videos) or Pillow
(animated GIF/WebP), and frames that the analysis rate skips are only ``grab()``-ed, not converted. A still image
is a footage of one frame, decoded by ``enhancement.imageio`` (upright, size-checked) like every still.

Timestamps are the container's own (``CAP_PROP_POS_MSEC``), so variable-frame-rate footage, common in CCTV exports,
gets true times; raw ``.h264``/``.h265`` streams carry none and are timed ``index / fps``. A container's frame count
is often an estimate (MKV, MPEG-TS and WebM store duration x nominal rate), so a decoded count that differs from it
is normal. Damage is a stream whose decoded frames end well before the duration the container states
(:func:`decode_shortfall`): the :class:`FrameReader` then keeps what was read and reports where decoding stopped
instead of failing the whole footage.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .imageio import (
    MAX_PIXELS,
    ImageDecodeError,
    ImageInfo,
    UnknownImageFormat,
    animation_durations,
    as_image,
    decode_image,
    inspect_image,
    iter_animation,
)
from .images import shrink

Box = tuple[int, int, int, int]

DEFAULT_FPS = 25.0  # what a stream that states no rate is assumed to run at: the common CCTV rate
# A decoded stream may end a little before the stated duration (an audio track or an edit list can outlast the
# video); more than this is a stream that stopped decoding.
SHORTFALL_TOLERANCE_S = 0.5
SHORTFALL_TOLERANCE_FRACTION = 0.05


class DecodeError(RuntimeError):
    """The file is not footage we can read (corrupt, empty, unsupported). The message says why, for the job log."""


@dataclass(frozen=True)
class FootageInfo:
    kind: str  # "image" or "video"
    width: int
    height: int
    fps: float
    frame_count: int  # announced by the container (counted for raw streams, which announce none); 1 for an image
    duration: float  # stated by the container (frame_count / fps); 0 for an image
    timed: bool = True  # frames carry container timestamps; False for raw elementary streams (timed index / fps)


@dataclass(frozen=True)
class Frame:
    index: int
    timestamp: float
    image: np.ndarray


@dataclass
class DecodeReport:
    frames_read: int = 0
    frames_yielded: int = 0
    last_index: int = -1
    expected_frames: int = 0
    stopped_early: bool = False
    reason: str = ""


def _still(path: Path) -> ImageInfo | None:
    """Pillow's view of the file when it is an image (still or animated), ``None`` when it is not one."""
    try:
        return inspect_image(path)
    except UnknownImageFormat:
        return None
    except ImageDecodeError as exc:  # an image, but one we refuse (too large, corrupt header): say so
        raise DecodeError(str(exc)) from exc


def _read_image(path: Path) -> np.ndarray:
    try:
        return decode_image(path)
    except ImageDecodeError as exc:
        raise DecodeError(str(exc)) from exc


def _ffprobe_rate(path: Path) -> float | None:
    """The stream's frame rate as ffprobe reads it from the bitstream (a raw H.264/H.265 stream's timing info),
    when ffprobe is installed; OpenCV's build assumes 25 fps for every raw stream."""
    exe = shutil.which("ffprobe")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=r_frame_rate", "-of", "json",
             str(path)], capture_output=True, timeout=30, check=False, text=True,
        ).stdout
        num, _, den = json.loads(out)["streams"][0]["r_frame_rate"].partition("/")
        rate = float(num) / float(den or 1)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError, ZeroDivisionError):
        return None
    return rate if math.isfinite(rate) and 0 < rate <= 1000 else None


def _position_s(cap: cv2.VideoCapture) -> float:
    value = cap.get(cv2.CAP_PROP_POS_MSEC)
    return value / 1000.0 if math.isfinite(value) else 0.0


def decode_shortfall(stated_s: float, decoded_end_s: float) -> float:
    """Seconds of the stated duration that did not decode, when that is more than the tolerance; else 0."""
    if stated_s <= 0:
        return 0.0
    missing = stated_s - decoded_end_s
    return missing if missing > max(SHORTFALL_TOLERANCE_S, SHORTFALL_TOLERANCE_FRACTION * stated_s) else 0.0


def probe(path: str | Path) -> FootageInfo:
    """Read the container's metadata and check that at least one frame decodes; raise :class:`DecodeError` if not."""
    path = Path(path)
    if not path.is_file():
        raise DecodeError(f"file not found: {path.name}")
    if path.stat().st_size == 0:
        raise DecodeError("the file is empty")
    still = _still(path)
    if still is not None and still.animated:
        try:
            durations = animation_durations(path)
        except ImageDecodeError as exc:
            raise DecodeError(str(exc)) from exc
        n, duration = len(durations), sum(durations)
        return FootageInfo("video", still.width, still.height, n / duration, n, duration)
    if still is not None:
        return FootageInfo("image", still.width, still.height, 0.0, 1, 0.0)
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise DecodeError("not a readable video or image (OpenCV could not open it)")
        stated_w, stated_h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
        if not (math.isfinite(stated_w) and math.isfinite(stated_h)) or stated_w * stated_h > MAX_PIXELS:
            raise DecodeError(f"the video declares {stated_w:.0f} x {stated_h:.0f} pixels a frame; the limit is "
                              f"{MAX_PIXELS / 1e6:.0f} megapixels")
        ok, frame = cap.read()
        if not ok or frame is None:
            raise DecodeError("the video opened but no frame could be decoded (corrupt or unsupported codec)")
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0
        count = int(count) if math.isfinite(count) and count > 0 else 0
        timed = not (cap.grab() and _position_s(cap) == 0.0)  # a raw stream leaves every position at 0
    finally:
        cap.release()
    if not timed:
        fps = _ffprobe_rate(path) or fps
    if not math.isfinite(fps) or fps <= 0 or fps > 1000:
        fps = DEFAULT_FPS
    if count == 0:  # nothing announced (raw streams): count what decodes
        count = count_frames(path)
    return FootageInfo("video", frame.shape[1], frame.shape[0], float(fps), count, count / fps, timed=timed)


def count_frames(path: str | Path) -> int:
    """Frames that decode (``grab``, no conversion): for streams that announce no count."""
    cap = cv2.VideoCapture(str(path))
    decoded = 0
    try:
        while cap.grab():
            decoded += 1
    finally:
        cap.release()
    return decoded


@dataclass(frozen=True)
class VideoScan:
    """Every frame of a video decoded once (``grab``, no conversion): what really is in the file."""

    info: FootageInfo
    frames: int  # decoded
    duration: float  # from the first frame to the end of the last decoded one, in seconds
    note: str = ""  # a difference from what the container announced that is normal (estimated counts, VFR)
    damage: str = ""  # why the evidence is incomplete; empty when the whole stated duration decodes


def scan_video(path: str | Path, progress: Callable[[int, int], None] | None = None) -> VideoScan:
    """Decode every frame once and compare with what the container states. ``progress(decoded, announced)``."""
    info = probe(path)
    if info.kind != "video":
        raise DecodeError("not a video")
    if _still(Path(path)) is not None:  # animated GIF/WebP: Pillow already read every frame's duration
        return VideoScan(info, info.frame_count, info.duration)
    cap = cv2.VideoCapture(str(path))
    decoded, end = 0, 0.0
    try:
        while cap.grab():
            decoded += 1
            start = _position_s(cap) if info.timed else (decoded - 1) / info.fps
            end = max(end, start + 1.0 / info.fps)
            if progress is not None:
                progress(decoded, info.frame_count)
    finally:
        cap.release()
    if decoded == 0:
        raise DecodeError("no frame could be decoded")
    note = damage = ""
    missing = decode_shortfall(info.duration, end)
    if missing:
        damage = (f"video is truncated or damaged: the container declares {info.frame_count} frames "
                  f"({info.duration:.1f} s) but frames decode only up to {end:.1f} s ({missing:.1f} s missing)")
    elif decoded != info.frame_count:
        note = (f"the container announces {info.frame_count} frames and {decoded} decode: an estimated frame count "
                f"or a variable frame rate, not damage (duration {end:.2f} s of {info.duration:.2f} s stated)")
    return VideoScan(info, decoded, end, note, damage)


class FrameReader:
    """Iterate ``Frame`` objects of one footage at up to ``max_fps`` analysed frames per second.

    ``start_frame`` skips frames before it (they are grabbed, not converted). After iteration, ``report`` says how many
    frames were read and, when the video stopped decoding early, where and why.
    """

    def __init__(self, path: str | Path, *, max_fps: float | None = None, start_frame: int = 0) -> None:
        self.path = Path(path)
        self.info = probe(self.path)
        self.max_fps = max_fps
        self.start_frame = max(0, int(start_frame))
        self.report = DecodeReport(expected_frames=self.info.frame_count)

    @property
    def step(self) -> int:
        """Analyse every ``step``-th frame: every frame when the footage is at or below ``max_fps``."""
        if not self.max_fps or self.info.fps <= 0:
            return 1
        return max(1, int(round(self.info.fps / self.max_fps)))

    def __iter__(self) -> Iterator[Frame]:
        if self.info.kind == "image":
            yield from self._iter_image()
        elif _still(self.path) is not None:
            yield from self._iter_animation()
        else:
            yield from self._iter_video()

    def _iter_image(self) -> Iterator[Frame]:
        image = _read_image(self.path)
        self.report.frames_read = 1
        if self.start_frame > 0:
            return
        self.report.frames_yielded = 1
        self.report.last_index = 0
        yield Frame(0, 0.0, image)

    def _iter_animation(self) -> Iterator[Frame]:
        step = self.step
        try:
            for index, (t, image) in enumerate(iter_animation(self.path)):
                self.report.frames_read = index + 1
                self.report.last_index = index
                if index >= self.start_frame and index % step == 0:
                    self.report.frames_yielded += 1
                    yield Frame(index, t, image)
        except ImageDecodeError as exc:
            self._stopped(f"{exc} (after frame {self.report.last_index})")

    def _iter_video(self) -> Iterator[Frame]:
        step, fps, timed = self.step, self.info.fps, self.info.timed
        cap = cv2.VideoCapture(str(self.path))
        end = 0.0
        try:
            index = -1
            while True:
                index += 1
                wanted = index >= self.start_frame and index % step == 0
                if not cap.grab():
                    break
                timestamp = _position_s(cap) if timed else index / fps
                end = max(end, timestamp + 1.0 / fps)
                self.report.frames_read = index + 1
                self.report.last_index = index
                if not wanted:
                    continue
                ok, image = cap.retrieve()
                if not ok or image is None:
                    self._stopped(f"frame {index} could not be decoded")
                    return
                self.report.frames_yielded += 1
                yield Frame(index, timestamp, image)
        finally:
            cap.release()
        # Frame counts of many containers are estimates; only a stream that ends well before its stated duration
        # is a broken file.
        if decode_shortfall(self.info.duration, end):
            self._stopped(f"decoding stopped at frame {self.report.frames_read} of {self.info.frame_count} "
                          f"({end:.1f} s of the {self.info.duration:.1f} s the container states); the rest is "
                          "unreadable")

    def _stopped(self, reason: str) -> None:
        self.report.stopped_early = True
        self.report.reason = reason


def iter_frames(path: str | Path, *, max_fps: float | None = None, start_frame: int = 0) -> Iterator[Frame]:
    """Convenience wrapper over :class:`FrameReader` when the decode report is not needed."""
    yield from FrameReader(path, max_fps=max_fps, start_frame=start_frame)


class MotionGate:
    """Frame differencing on a small grey thumbnail: a few hundred microseconds per frame at any resolution.

    ``update(frame)`` returns the bounding box (in frame pixels) of the region that changed since the previous frame,
    or ``None`` when too little changed for a new face to have appeared. The first frame counts as all motion.
    """

    def __init__(self, *, thumb_width: int = 96, pixel_threshold: int = 18, min_fraction: float = 0.002) -> None:
        self.thumb_width = thumb_width
        self.pixel_threshold = pixel_threshold
        self.min_fraction = min_fraction
        self._previous: np.ndarray | None = None

    def reset(self) -> None:
        self._previous = None

    def thumbnail(self, frame: np.ndarray) -> np.ndarray:
        h, w = as_image(frame, name="frame", grey_ok=True).shape[:2]
        th = max(1, round(h * self.thumb_width / w))
        small = shrink(frame, self.thumb_width, th)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        return cv2.GaussianBlur(grey, (3, 3), 0)  # suppresses compression noise that is not motion

    def snapshot(self) -> np.ndarray | None:
        """The remembered previous thumbnail, so that a resumed analysis judges its next frame as this one would."""
        return self._previous

    def restore(self, previous: np.ndarray | None) -> None:
        self._previous = previous

    def update(self, frame: np.ndarray) -> Box | None:
        thumb = self.thumbnail(frame)
        previous, self._previous = self._previous, thumb
        h, w = frame.shape[:2]
        if previous is None or previous.shape != thumb.shape:
            return (0, 0, w, h)
        changed = cv2.absdiff(thumb, previous) > self.pixel_threshold
        if changed.mean() < self.min_fraction:
            return None
        ys, xs = np.nonzero(changed)
        scale = w / thumb.shape[1]
        x0, y0 = int(xs.min() * scale), int(ys.min() * scale)
        x1, y1 = int(math.ceil((xs.max() + 1) * scale)), int(math.ceil((ys.max() + 1) * scale))
        return (x0, y0, min(w, x1) - x0, min(h, y1) - y0)


def expand_box(box: Box, factor: float, width: int, height: int) -> Box:
    """Grow ``box`` about its centre by ``factor`` and clip it to the frame: the region searched around a track."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    nw, nh = w * factor, h * factor
    x0, y0 = max(0, int(cx - nw / 2)), max(0, int(cy - nh / 2))
    x1, y1 = min(width, int(math.ceil(cx + nw / 2))), min(height, int(math.ceil(cy + nh / 2)))
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))

"""Streaming decode of footage for analysis, plus cheap motion gating.

Conventions: frames are ``uint8`` BGR arrays (H, W, 3); boxes are ``(x, y, w, h)`` ints in frame pixels;
timestamps are seconds from the start of the footage.

Footage is never held in memory: :func:`iter_frames` pulls one frame at a time from OpenCV (videos) or Pillow
(GIFs), and frames that the analysis rate skips are only ``grab()``-ed, not converted. A still image is a footage
of one frame. When a video stops decoding before the end its container announced, the :class:`FrameReader` keeps
what was read and reports where decoding stopped instead of failing the whole footage.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .images import read_image

Box = tuple[int, int, int, int]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class DecodeError(RuntimeError):
    """The file is not footage we can read (corrupt, empty, unsupported). The message says why, for the job log."""


@dataclass(frozen=True)
class FootageInfo:
    kind: str  # "image" or "video"
    width: int
    height: int
    fps: float
    frame_count: int  # announced by the container; 1 for an image
    duration: float


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


def _is_gif(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(6) in (b"GIF87a", b"GIF89a")


def _gif_frames(path: Path) -> Iterator[tuple[float, np.ndarray]]:
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        t = 0.0
        for frame in ImageSequence.Iterator(im):
            yield t, cv2.cvtColor(np.asarray(frame.convert("RGB")), cv2.COLOR_RGB2BGR)
            t += max(frame.info.get("duration", 100), 10) / 1000.0


def probe(path: str | Path) -> FootageInfo:
    """Read the container's metadata and check that at least one frame decodes; raise :class:`DecodeError` if not."""
    path = Path(path)
    if not path.is_file():
        raise DecodeError(f"file not found: {path.name}")
    if path.stat().st_size == 0:
        raise DecodeError("the file is empty")
    if _is_gif(path):
        from PIL import Image

        try:
            with Image.open(path) as im:
                n = getattr(im, "n_frames", 1)
                width, height = im.size
                durations = []
                for i in range(n):
                    im.seek(i)
                    durations.append(max(im.info.get("duration", 100), 10) / 1000.0)
        except Exception as exc:
            raise DecodeError(f"GIF could not be decoded: {exc}") from exc
        if n == 1:
            return FootageInfo("image", width, height, 0.0, 1, 0.0)
        duration = sum(durations)
        return FootageInfo("video", width, height, n / duration, n, duration)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image = read_image(path)
        if image is not None:
            return FootageInfo("image", image.shape[1], image.shape[0], 0.0, 1, 0.0)
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            image = read_image(path)  # an image with an unexpected suffix
            if image is not None:
                return FootageInfo("image", image.shape[1], image.shape[0], 0.0, 1, 0.0)
            raise DecodeError("not a readable video or image (OpenCV could not open it)")
        ok, frame = cap.read()
        if not ok or frame is None:
            raise DecodeError("the video opened but no frame could be decoded (corrupt or unsupported codec)")
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        if not math.isfinite(fps) or fps <= 0 or fps > 1000:
            fps = 25.0  # some containers do not say; 25 is the common CCTV rate
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        return FootageInfo("video", frame.shape[1], frame.shape[0], float(fps), max(count, 1), max(count, 1) / fps)
    finally:
        cap.release()


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
        elif _is_gif(self.path):
            yield from self._iter_gif()
        else:
            yield from self._iter_video()

    def _iter_image(self) -> Iterator[Frame]:
        image = read_image(self.path)
        if image is None:
            raise DecodeError("the image could not be decoded")
        self.report.frames_read = 1
        if self.start_frame > 0:
            return
        self.report.frames_yielded = 1
        self.report.last_index = 0
        yield Frame(0, 0.0, image)

    def _iter_gif(self) -> Iterator[Frame]:
        step = self.step
        try:
            for index, (t, image) in enumerate(_gif_frames(self.path)):
                self.report.frames_read = index + 1
                self.report.last_index = index
                if index >= self.start_frame and index % step == 0:
                    self.report.frames_yielded += 1
                    yield Frame(index, t, image)
        except (OSError, ValueError) as exc:
            self._stopped(f"GIF stopped decoding after frame {self.report.last_index}: {exc}")

    def _iter_video(self) -> Iterator[Frame]:
        step, fps = self.step, self.info.fps
        cap = cv2.VideoCapture(str(self.path))
        try:
            index = -1
            while True:
                index += 1
                wanted = index >= self.start_frame and index % step == 0
                if not cap.grab():
                    break
                self.report.frames_read = index + 1
                self.report.last_index = index
                if not wanted:
                    continue
                ok, image = cap.retrieve()
                if not ok or image is None:
                    self._stopped(f"frame {index} could not be decoded")
                    return
                self.report.frames_yielded += 1
                yield Frame(index, index / fps, image)
        finally:
            cap.release()
        # Containers round their frame count; a shortfall of a few frames is normal, a large one is a broken file.
        expected = self.info.frame_count
        if self.report.frames_read < expected - max(2, int(0.02 * expected)):
            self._stopped(f"decoding stopped at frame {self.report.frames_read} of {expected} "
                          f"({self.report.frames_read / fps:.1f} s of {expected / fps:.1f} s); the rest is unreadable")

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
        h, w = frame.shape[:2]
        th = max(1, round(h * self.thumb_width / w))
        small = cv2.resize(frame, (self.thumb_width, th), interpolation=cv2.INTER_AREA)
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

"""The footage job's stages: the probe that measures an original, then the analysis stage
(``footage.analysis.analyze_footage``, progress 10..100), in order, in ``run_pipeline`` that the task runs.
The job's reporter and ``ProcessingError`` are in ``footage.jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass

from facecase.files import verified_path
from footage.analysis import analyze_footage
from footage.jobs import JobReporter, ProcessingError
from footage.models import Footage, JobLogLine

PROBE_DONE_PROGRESS = 10
# Containers may declare a frame or two more than decode (edit lists, a trailing partial GOP); a bigger gap
# means the file is damaged and the evidence incomplete, which must fail loudly rather than analyse half a video.
FRAME_COUNT_TOLERANCE = 0.01


@dataclass
class ProbeResult:
    width: int
    height: int
    fps: float | None
    frame_count: int
    duration: float | None
    damage: str = ""  # why the evidence is incomplete (frames stop decoding); empty when the whole file decodes


def _probe_image(path: str) -> ProbeResult:
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
    return ProbeResult(width=width, height=height, fps=None, frame_count=1, duration=None)


def _probe_video(path: str, reporter: JobReporter | None) -> ProbeResult:
    import cv2

    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise ProcessingError("OpenCV could not open the video")
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        decoded = 0
        # grab() decodes without converting to BGR: every frame is read once so a damaged file is found here.
        while capture.grab():
            decoded += 1
            if reporter is not None and declared and decoded % 25 == 0:
                reporter.progress(PROBE_DONE_PROGRESS * min(decoded, declared) / declared)
    finally:
        capture.release()
    if decoded == 0:
        raise ProcessingError("no frame could be decoded")
    if fps <= 0:
        raise ProcessingError("video declares no frame rate")
    damage = ""
    if declared and decoded < declared * (1 - FRAME_COUNT_TOLERANCE) - 1:
        damage = f"video is truncated or damaged: the container declares {declared} frames, only {decoded} decode"
    return ProbeResult(width=width, height=height, fps=fps, frame_count=decoded, duration=decoded / fps, damage=damage)


def probe_footage(footage: Footage, reporter: JobReporter | None = None) -> ProbeResult:
    """Measure the original (after re-checking its SHA-256) and store dimensions, fps, frames and duration."""
    path = str(verified_path(footage.original, footage.sha256))
    if reporter is not None:
        reporter.log(f"SHA-256 verified ({footage.sha256[:16]}...), probing {footage.kind}")
    result = _probe_image(path) if footage.kind == Footage.Kind.IMAGE else _probe_video(path, reporter)
    footage.width, footage.height = result.width, result.height
    footage.fps, footage.frame_count, footage.duration = result.fps, result.frame_count, result.duration
    footage.save(update_fields=["width", "height", "fps", "frame_count", "duration", "updated_at"])
    if reporter is not None:
        if footage.kind == Footage.Kind.VIDEO:
            reporter.log(f"video {result.width}x{result.height}, {result.fps:.3f} fps, {result.frame_count} frames, "
                         f"{result.duration:.2f} s")
        else:
            reporter.log(f"image {result.width}x{result.height}")
        reporter.progress(PROBE_DONE_PROGRESS)
    return result


def run_pipeline(footage: Footage, reporter: JobReporter | None = None) -> None:
    """Everything the job does to one footage row, in order. Raises on failure; the task records the reason."""
    reporter = reporter or JobReporter(footage)
    probe = probe_footage(footage, reporter)
    if probe.damage:
        reporter.log(f"{probe.damage}: analysing the frames that decode", level=JobLogLine.Level.WARNING)
    analyze_footage(footage, reporter)
    if probe.damage:
        # Damaged evidence must not look complete: the job fails with the reason, and whatever was found in the
        # frames that decoded (sightings, alerts) stays for review.
        raise ProcessingError(f"{probe.damage}; decoding stopped at frame {probe.frame_count} (results from the "
                              "frames that decoded are kept)")

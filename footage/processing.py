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


@dataclass
class ProbeResult:
    width: int
    height: int
    fps: float | None
    frame_count: int
    duration: float | None
    damage: str = ""  # why the evidence is incomplete (frames stop decoding); empty when the whole file decodes
    note: str = ""  # what differs from the container's announcement without being damage (estimated frame counts)


def _probe_image(path: str) -> ProbeResult:
    from enhancement.imageio import ImageDecodeError, inspect_image

    try:
        info = inspect_image(path)  # upright size, as the analysis will decode it
    except ImageDecodeError as exc:
        raise ProcessingError(str(exc)) from exc
    return ProbeResult(width=info.width, height=info.height, fps=None, frame_count=1, duration=None)


def _probe_video(path: str, reporter: JobReporter | None) -> ProbeResult:
    """Decode every frame once (``enhancement.video.scan_video``). A frame count that differs from the container's
    is a note (MKV, MPEG-TS and WebM estimate theirs; variable frame rates differ); frames that end well before the
    stated duration are damage: the frames that decode are analysed and the job says what is missing."""
    from enhancement.video import DecodeError, scan_video

    def progress(decoded: int, announced: int) -> None:
        if reporter is not None and announced and decoded % 25 == 0:
            reporter.progress(PROBE_DONE_PROGRESS * min(decoded, announced) / announced)

    try:
        scan = scan_video(path, progress)
    except DecodeError as exc:
        raise ProcessingError(str(exc)) from exc
    info = scan.info
    return ProbeResult(width=info.width, height=info.height, fps=info.fps, frame_count=scan.frames,
                       duration=scan.duration, damage=scan.damage, note=scan.note)


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
            if result.note:
                reporter.log(result.note)
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

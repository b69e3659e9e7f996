"""Footage analysis core: ``analyze_video(path, gallery=..., config=AnalysisConfig(), ...) -> AnalysisResult``.

- ``config.py``: ``AnalysisConfig``, what a run is asked to do;
- ``results.py``: ``TrackResult``, ``CropResult``, ``MatchSummary``, ``Progress``, ``AnalysisResult``;
- ``detection.py``: the detector passes (full frame, around a track, a moving region) and their NMS;
- ``steps.py``: the enhancement steps a crop gets (the quality policy's plan with the run's parameters);
- ``matching.py``: a finished track's crops enhanced, embedded and matched, aggregated over the crops;
- ``loop.py``: the frame loop and ``analyze_video``; ``checkpoint.py``: its state as a resumable blob;
- ``stream.py``: the same frame loop fed live frames (``stream_loop``), matching open tracks as they improve;
- ``timing.py``: seconds per stage.
"""

from .checkpoint import CheckpointError
from .config import AnalysisConfig
from .loop import analyze_video
from .results import AnalysisResult, CropResult, MatchSummary, Progress, TrackResult
from .stream import StreamLoop, stream_loop
from .timing import STAGES

__all__ = ["STAGES", "AnalysisConfig", "AnalysisResult", "CheckpointError", "CropResult", "MatchSummary",
           "Progress", "StreamLoop", "TrackResult", "analyze_video", "stream_loop"]

"""What an analysis run is asked to do: ``AnalysisConfig`` (rates, detector, crops, enhancement, matching).

Every field is part of a checkpoint's identity: a resume blob written under other settings is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fusion import FusionRule


@dataclass
class AnalysisConfig:
    max_fps: float = 10.0  # analysis rate; footage at or below it is analysed frame by frame
    detector: str = "haar"  # or "mtcnn"
    detector_params: dict[str, Any] = field(default_factory=dict)
    # Haar input contrast: "clahe" (local equalisation; measured best on dark synthetic CCTV, Hamilton and the BBT
    # scenes together), "global" (detect.py's equalizeHist) or "none".
    contrast: str = "clahe"
    detect_width: int = 640  # full-frame detection runs on the frame downscaled to this width
    detect_every: int = 6  # analysed frames between full-frame passes
    # Haar pyramid step of the full-frame pass: 1.15 costs ~half of 1.1 and still finds most faces on the
    # Hamilton clip (47 vs 55 boxes over 46 frames); tracks and the finer ROI passes catch what it misses.
    full_scale_factor: float = 1.15
    motion_gating: bool = True
    roi_factor: float = 2.2  # search region around a live track, in face sizes
    roi_face_px: int = 56  # ROI is rescaled so the tracked face is about this wide (cheap and within Haar's range)
    max_gap_seconds: float = 1.0  # a track survives this long without a detection
    min_detections: int = 2  # shorter tracks in videos are dropped as detector noise (images: 1)
    keep_best: int = 3  # crops per track enhanced and kept as evidence for the operator (the best by quality)
    # Track-level fusion (enhancement.fusion): the track's ``fusion_keep`` best crops by quality are embedded and
    # fused into one match by the rule ``fusion`` with quality weights ``Candidate.weight ** fusion_power``.
    # Chosen on LFW pairsDevTrain synthetic tracks by ``python -m research.track_fusion`` (docs/evaluation/
    # track_fusion.md, TF teacher embedder): the mean distance of the 3 best crops, weights ^4. Pooling the
    # descriptors ("pooled", 8 crops, ^4) identified more known tracks at the alert threshold (pairsDevTest, 8 frames:
    # blur 63 -> 79 %, x6 13 -> 23 %, low light 47 -> 56 %) but let 12.3 % of pairsDevTrain's stranger tracks alert
    # on the combined degradation (today's rule: 0 %), and stranger alerts must not rise.
    fusion: str = "best_k_distance"
    fusion_keep: int = 3
    fusion_power: float = 4.0
    # Multi-frame averaging before the embedder: the aligned chips of the track's ``chip_average_keep`` best crops
    # (at least 2) are registered (ECC, translation) and averaged with quality weights, and that one chip's
    # descriptor is one more view of the track: an identity's distance is the nearer of the fused crops' and the
    # averaged chip's (``FusionRule.chip_average``). Chosen on pairsDevTrain tracks by ``python -m
    # research.track_fusion`` (docs/evaluation/track_fusion.md, 300 pairs per split; means over blur, x6, low light,
    # combined and clean tracks of N >= 4): known tracks identified at the alert threshold 30.6 -> 34.9 %, TAR at FAR
    # 1 % 67.7 -> 69.1, and no cell's stranger-alert rate above the worst of the rule before fusion. On pairsDevTest
    # 8-frame tracks, identified: blur 64.7 -> 69.3 %, x6 12.7 -> 18.0 %, low light 47.3 -> 60.0 %, clean 74.0 ->
    # 74.7 %, no stranger alert; combined TAR at FAR 1 % 17.3 -> 21.3. One more embedding per track. 0 turns it off.
    chip_average_keep: int = 8
    # The averaged chip may lower only the distance of the identity the fused crops are nearest to, and by at most
    # this much (``FusionRule.chip_max_gain``; None: the nearer view counts for every identity). Averaging cancels each
    # frame's own noise but keeps what the frames share, so unbounded it can name someone the crops are far from.
    # Chosen by python -m research.chip_guard on all 820 pairsDevTrain pairs (blur, x6, low light, combined, clean;
    # N = 4 and 8; docs/evaluation/chip_guard.md): known tracks identified 1,743 (ungated 1,747, no chip 1,565), wrong
    # identities 3 (ungated 6, no chip 3), leave-own-out alerts 42 of 4,100 (ungated 46, no chip 35). No guard keeps
    # every count at the no-chip level.
    chip_max_gain: float | None = 0.08
    enhance: bool = True
    steps: str | list[str] = "auto"
    # Parameters given to the steps the quality policy picks. LIME's fast variant, its illumination map solved at
    # 96 px (long side) and guided-upsampled: on dark face crops (python -m benchmarks.lime_crops, 40 LFW train
    # faces) 20 ms per 110 px face against 91 ms at the step's own 160 px and 108 ms exact, 1.3 grey levels from
    # the exact output, and the embedder's distance to another photo of the same person moved by 0.004 on average:
    # no more than re-saving the exact output as a JPEG of quality 95 moves it. A live camera re-enhances every crop
    # that enters a walking face's best few, and LIME at 160 px was the largest cost of run_cameras' profile.
    step_params: dict[str, dict[str, Any]] = field(default_factory=lambda: {"lime": {"fast": True, "fast_size": 96}})
    top_k: int = 5
    threshold: float | None = None  # None: enhancement.match.DEFAULT_THRESHOLD
    checkpoint_every_s: float = 10.0  # footage seconds between resumable snapshots (see analyze_video)
    min_face_px: int = 20  # smaller faces are not embedded: the descriptor is noise below this
    # Faces narrower than this are bicubic-upscaled before the embedder's landmark fit (its 150 px chip is the same
    # either way). Measured on Alex Lacamoire's ~30 px face in the Hamilton clip: distance to his reference photo
    # 0.600 -> 0.579, 0.604 -> 0.588, 0.693 -> 0.661 on three frames.
    embed_face_px: int = 80
    # The same dlib network run in TensorFlow (enhancement.embed_tf): descriptors within 1e-6 of dlib's, ~20x faster
    # per face here, and the analysis worker has TensorFlow loaded for the learned steps anyway.
    embed_backend: str = "tf"
    # "student": each embedded crop is also described by the degradation-robust student (enhancement.student) and
    # the student's match decides (dlib's raw and enhanced matches are kept beside it); "teacher": dlib's only.
    # Default "teacher", from the measurement (docs/evaluation/, python -m research.evaluate --pairs 1000): the
    # shipped student (s6b7: the first 7 residual blocks fine-tuned with the margin term, 6,000 CPU steps) lifts
    # verification on degraded faces (x6 70.6 -> 79.4, combined 9.6 -> 18.0 TAR at FAR 1 %, clean 98.8 -> 98.6) but
    # open-set identification at the registry-sized threshold stays below dlib's (clean 80 -> 77 %, blur 51 -> 49 %).
    # Enable it per deployment with FACECASE_ANALYSIS.
    probe_embedder: str = "teacher"
    student_input: str = "raw"  # which crop the student sees: "raw" or "enhanced"
    student_threshold: float | None = None  # None: the student's calibrated threshold (weights/...student.json)

    @property
    def fusion_rule(self) -> FusionRule:
        return FusionRule(self.fusion, self.fusion_keep, self.fusion_power, chip_average=self.chip_average_keep >= 2,
                          chip_max_gain=self.chip_max_gain)

    @property
    def crops_kept(self) -> int:
        """Crops a track's store holds: the evidence crops, the fused ones and the averaged ones (best first, the
        same order)."""
        return max(self.keep_best, self.fusion_keep, self.chip_average_keep)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

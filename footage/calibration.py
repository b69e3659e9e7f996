"""The alert threshold: LFW-calibrated by default, recalibrated from operators' verdicts by ``manage.py calibrate``.

Distances are Euclidean between dlib descriptors; a track matches a suspect when its aggregated distance is under
the threshold. ``weights/matcher_calibration.json`` (the enhancement library, chosen on LFW pairsDevTrain) is the
default; ``manage.py calibrate`` writes ``<VAR_DIR>/matcher_threshold.json`` which then overrides it.

Operators' "confirm" and "not this person" decisions are stored as ``ReviewLabel`` rows (same / different, with the
distance behind the alert). Recalibration pools the LFW pairs (when their embeddings are cached locally) with these
labels, each label counting ``label_weight`` times because it comes from our own cameras, and picks the threshold
with the best weighted accuracy, capped so that the expected false-alert rate stays under ``max_far``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone


def threshold_file() -> Path:
    return Path(settings.VAR_DIR) / "matcher_threshold.json"


def alert_threshold(enrolled: int | None = None) -> float:
    """The distance under which a track alerts: the operators' recalibration when there is one, else the LFW
    operating point at a 1 % false-accept rate from ``weights/matcher_calibration.json``, else the library default;
    with ``enrolled`` (the number of suspects in the registry's gallery) it is tightened so that a stranger
    alerts against the whole gallery with about ``FACECASE_FALSE_ALERT_RATE`` probability
    (``enhancement.match.open_set_threshold``): a per-pair threshold let 70 % of never-enrolled faces alert against
    a 100-person registry in the evaluation.

    Why not the library's default (best LFW accuracy, 0.626 at 2 % FAR)? An alert interrupts an operator, and CCTV
    shows many strangers: on the looped Hamilton clip an audience member matched an enrolled LFW person at 0.624.
    Caveat: the file reports that 1 % point on pairsDevTest; ``manage.py calibrate`` recomputes it (``--max-far``)
    on pairsDevTrain plus operators' verdicts when the LFW embeddings are cached locally.
    """
    return _threshold_and_basis(enrolled)[0]


def threshold_basis(enrolled: int | None = None) -> str:
    """How ``alert_threshold(enrolled)`` was set, in words for the reviewer's "why" panel."""
    return _threshold_and_basis(enrolled)[1]


def _threshold_and_basis(enrolled: int | None) -> tuple[float, str]:
    """The one place that decides the alert threshold, and says which rule decided it."""
    recalibrated = active_threshold()
    if recalibrated is not None:
        return recalibrated, "recalibrated from operators' verdicts (manage.py calibrate)"
    try:
        from enhancement.match import CALIBRATION_FILE

        base = float(json.loads(CALIBRATION_FILE.read_text())["dev_test"]["threshold_at_far_1pct"])
    except (OSError, KeyError, ValueError, TypeError):
        base = lfw_default()
    if not enrolled:
        return base, "the LFW operating point with 1 % false accepts per comparison"
    from enhancement.match import open_set_threshold

    rate = float(settings.FACECASE_FALSE_ALERT_RATE)
    return (open_set_threshold(enrolled, rate, ceiling=base),
            f"set for a registry of {enrolled} suspect{'s' if enrolled != 1 else ''} so that about "
            f"{rate * 100:g} % of people who are not in it would alert")


def active_threshold() -> float | None:
    """The recalibrated threshold, or None when operators never recalibrated."""
    path = threshold_file()
    if not path.exists():
        return None
    try:
        return float(json.loads(path.read_text())["threshold"])
    except (ValueError, KeyError, OSError):
        return None


def lfw_default() -> float:
    from enhancement.match import DEFAULT_THRESHOLD

    return float(DEFAULT_THRESHOLD)


def lfw_pair_distances() -> tuple[np.ndarray, np.ndarray]:
    """LFW pairsDevTrain distances from the locally cached embeddings (``runs/lfw_embeddings.npz``, written by
    ``python -m research.calibrate_matcher``); empty when that cache or the LFW folder is absent."""
    try:
        from enhancement.datasets import lfw_dir, lfw_pairs
        from enhancement.lfw import load_cache, pair_distances

        cache = load_cache()
        root = lfw_dir()
        usable = [(a, b, same) for a, b, same in lfw_pairs("pairsDevTrain")
                  if str(a.relative_to(root)) in cache and str(b.relative_to(root)) in cache]
    except (FileNotFoundError, ImportError, OSError, KeyError):
        return np.zeros(0), np.zeros(0, bool)
    if not usable:
        return np.zeros(0), np.zeros(0, bool)
    d, same = pair_distances(usable, cache)
    return np.asarray(d, float), np.asarray(same, bool)


@dataclass
class Calibration:
    threshold: float
    previous: float
    lfw_pairs: int
    labels_same: int
    labels_different: int
    label_weight: float
    weighted_accuracy: float
    expected_false_alert_rate: float  # weighted share of different-person pairs under the threshold
    label_false_alert_rate: float | None  # among operators' "not this person" verdicts only
    label_miss_rate: float | None  # confirmed matches that the new threshold would no longer alert on
    computed_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibrate(label_rows: list[tuple[float, bool]], *, label_weight: float = 5.0, max_far: float = 0.01,
              lfw: tuple[np.ndarray, np.ndarray] | None = None) -> Calibration:
    """``label_rows`` are (distance, same_person). Without LFW pairs or labels the LFW default is kept."""
    previous = alert_threshold()
    d_lfw, s_lfw = lfw if lfw is not None else lfw_pair_distances()
    d_lab = np.array([d for d, _ in label_rows], float)
    s_lab = np.array([s for _, s in label_rows], bool)
    d = np.concatenate([d_lfw, d_lab])
    same = np.concatenate([s_lfw, s_lab])
    w = np.concatenate([np.ones(len(d_lfw)), np.full(len(d_lab), label_weight)])
    if len(d) == 0 or same.all() or not same.any():
        threshold = previous  # nothing to separate: keep what we have
    else:
        values = np.sort(np.unique(d))
        candidates = np.concatenate([[values[0] - 1e-6], (values[1:] + values[:-1]) / 2, [values[-1] + 1e-6]])
        impostor_w = w[~same].sum()
        best, best_acc = previous, -1.0
        for t in candidates:
            far = float(w[~same][d[~same] < t].sum() / impostor_w)
            if far > max_far:
                continue
            acc = float((w * ((d < t) == same)).sum() / w.sum())
            if acc > best_acc:
                best, best_acc = float(t), acc
        threshold = best
    far_all = float(w[~same][d[~same] < threshold].sum() / w[~same].sum()) if (~same).any() else 0.0
    acc_all = float((w * ((d < threshold) == same)).sum() / w.sum()) if len(d) else 0.0
    different = d_lab[~s_lab]
    confirmed = d_lab[s_lab]
    return Calibration(
        threshold=round(threshold, 4), previous=round(previous, 4), lfw_pairs=len(d_lfw),
        labels_same=int(s_lab.sum()), labels_different=int((~s_lab).sum()), label_weight=label_weight,
        weighted_accuracy=round(acc_all, 4), expected_false_alert_rate=round(far_all, 4),
        label_false_alert_rate=round(float((different < threshold).mean()), 4) if len(different) else None,
        label_miss_rate=round(float((confirmed >= threshold).mean()), 4) if len(confirmed) else None,
        computed_at=timezone.now().isoformat(),
    )


def save(calibration: Calibration) -> Path:
    path = threshold_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(calibration.to_dict(), indent=2) + "\n")
    return path

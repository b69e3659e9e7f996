"""Matching face embeddings against the registry: open-set nearest-neighbour search.

Conventions: embeddings are 128-d float32 dlib descriptors (``enhancement.embed``); distance is Euclidean; a probe
matches an identity only when its nearest enrolled embedding is closer than the calibrated threshold, otherwise
the answer is "unknown" (``label=None``). ``DEFAULT_THRESHOLD`` comes from ``weights/matcher_calibration.json``,
written by ``python -m research.calibrate_matcher`` (LFW pairsDevTrain; figures in ``docs/enhancement.md``).

Scores: ``score = 1 / (1 + exp((distance - threshold) / SCORE_SCALE))`` -- 0.5 exactly at the threshold, towards 1
for close matches. A display aid for reviewers, not a probability.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .weights import WEIGHTS_DIR

CALIBRATION_FILE = WEIGHTS_DIR / "matcher_calibration.json"
FALLBACK_THRESHOLD = 0.6  # dlib's customary value, only used when the calibration file is absent
SCORE_SCALE = 0.05


def _calibrated_threshold() -> float:
    try:
        return float(json.loads(CALIBRATION_FILE.read_text())["threshold"])
    except (OSError, KeyError, ValueError):
        return FALLBACK_THRESHOLD


DEFAULT_THRESHOLD: float = _calibrated_threshold()


# Probes embedded by the degradation-robust student (enhancement.student) are compared with the teacher's gallery;
# their thresholds come from their own calibration (``python -m research.calibrate_student``, LFW pairsDevTrain).
STUDENT_CALIBRATION_FILE = WEIGHTS_DIR / "matcher_calibration_student.json"
EMBEDDERS = ("teacher", "student")


def calibration(embedder: str = "teacher") -> dict | None:
    """The calibration file of the probe ``embedder`` ("teacher": dlib's network, "student"), None when absent."""
    if embedder not in EMBEDDERS:
        raise ValueError(f"unknown probe embedder {embedder!r}; choose one of {EMBEDDERS}")
    path = CALIBRATION_FILE if embedder == "teacher" else STUDENT_CALIBRATION_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def open_set_table_for(embedder: str = "teacher") -> list[tuple[float, float]]:
    """(per-comparison false-accept rate, distance threshold) rows from the embedder's calibration file, FAR
    ascending; empty when the file or its table is missing."""
    data = calibration(embedder) or {}
    try:
        return sorted((float(r["far"]), float(r["threshold"])) for r in data["open_set"]["table"])
    except (KeyError, ValueError, TypeError):
        return []


def student_operating_point() -> float | None:
    """The student's per-comparison LFW pairsDevTrain operating point: the strictest 1 %-false-accept threshold over
    clean and degraded probes (``dev_train.threshold_at_far_1pct``); None without its calibration file."""
    data = calibration("student")
    return None if data is None else float(data["dev_train"]["threshold_at_far_1pct"])


OPEN_SET_TABLE: list[tuple[float, float]] = open_set_table_for("teacher")


def threshold_for_far(far: float, table: Sequence[tuple[float, float]] | None = None) -> float:
    """The distance threshold whose per-comparison false-accept rate on LFW is ``far`` (log-linear between the
    calibrated rows). Below the table's smallest rate the smallest row's threshold is returned: the calibration
    set holds too few impostor pairs to read a stricter point, so that is the strictest threshold we can vouch for."""
    rows = list(table if table is not None else OPEN_SET_TABLE)
    if not rows:
        return DEFAULT_THRESHOLD
    fars = np.log10([r[0] for r in rows])
    thresholds = np.array([r[1] for r in rows])
    return float(np.interp(math.log10(max(far, 1e-12)), fars, thresholds))


def open_set_threshold(enrolled: int, false_alert_rate: float = 0.01, ceiling: float = DEFAULT_THRESHOLD,
                       table: Sequence[tuple[float, float]] | None = None) -> float:
    """Distance threshold that keeps the chance of a *stranger* matching anyone in a gallery of ``enrolled``
    identities at about ``false_alert_rate``.

    A probe of someone never enrolled is compared with every enrolled identity and alerts if the nearest is under
    the threshold, so a per-pair threshold (``DEFAULT_THRESHOLD``, ~2 % false accepts per pair) lets most strangers
    through a large gallery (70 % of never-enrolled LFW probes against 100 identities, docs/evaluation). Treating
    the identities as independent chances (photos of one person are nearly one chance: they look alike), each may
    false-accept with ``p = 1 - (1 - false_alert_rate) ** (1 / enrolled)``; the threshold is the calibrated one for
    that ``p`` (``OPEN_SET_TABLE``, from LFW pairsDevTrain impostors), never looser than ``ceiling``.
    """
    n = max(1, int(enrolled))
    per_comparison = 1.0 - (1.0 - false_alert_rate) ** (1.0 / n)
    return min(float(ceiling), threshold_for_far(per_comparison, table))


def score(distance: float, threshold: float = DEFAULT_THRESHOLD) -> float:
    return 1.0 / (1.0 + math.exp((distance - threshold) / SCORE_SCALE))


@dataclass(frozen=True)
class Candidate:
    label: str
    distance: float
    score: float
    index: int  # row of the best-matching enrolled embedding for this label


@dataclass(frozen=True)
class MatchResult:
    label: str | None
    candidates: list[Candidate]
    unknown: bool
    threshold: float


class Gallery:
    """Enrolled embeddings (several per identity allowed). Search is an exact brute-force scan: one matrix-vector
    product (``einsum``) through ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b, then ``argpartition`` instead of a full
    sort."""

    def __init__(self, vectors: np.ndarray | Sequence[np.ndarray], labels: Sequence[str]):
        matrix = np.asarray(vectors, dtype=np.float32).reshape(-1, 128)
        if len(labels) != len(matrix):
            raise ValueError(f"{len(matrix)} vectors but {len(labels)} labels")
        self.vectors = np.ascontiguousarray(matrix)
        self.labels = np.asarray(list(labels), dtype=object)
        self._sq_norms = np.einsum("ij,ij->i", self.vectors, self.vectors)

    def __len__(self) -> int:
        return len(self.vectors)

    def _partial_sq(self, v: np.ndarray) -> np.ndarray:
        """||row||^2 - 2 row.v for every row: the squared distance minus the constant ||v||^2, which does not change
        the ranking, so the full-size array needs one product and one in-place add (no sqrt over 100,000 rows)."""
        # einsum's single-threaded SIMD loop, not BLAS: on our two shared cores a multi-threaded BLAS gemv took
        # 24-27 ms for 100,000 rows (thread contention), einsum 10 ms (benchmarks/enhancement.py)
        partial = np.einsum("ij,j->i", self.vectors, -2.0 * v)
        partial += self._sq_norms
        return partial

    def distances(self, vector: np.ndarray) -> np.ndarray:
        v = np.asarray(vector, dtype=np.float32).reshape(128)
        return np.sqrt(np.maximum(self._partial_sq(v) + float(v @ v), 0.0))

    def search(self, vector: np.ndarray, k: int = 5, threshold: float = DEFAULT_THRESHOLD) -> list[Candidate]:
        """The ``k`` closest distinct identities, best first."""
        if not len(self):
            return []
        v = np.asarray(vector, dtype=np.float32).reshape(128)
        partial = self._partial_sq(v)
        vv = float(v @ v)
        n = len(partial)
        m = min(n, max(8 * k, 32))  # a few rows per identity usually suffice to find k distinct labels
        while True:
            rows = np.argpartition(partial, m - 1)[:m] if m < n else np.arange(n)
            rows = rows[np.argsort(partial[rows], kind="stable")]
            seen: dict[str, Candidate] = {}
            for row in rows:
                label = self.labels[row]
                if label not in seen:
                    d = math.sqrt(max(float(partial[row]) + vv, 0.0))
                    seen[label] = Candidate(label, d, score(d, threshold), int(row))
                    if len(seen) == k:
                        return list(seen.values())
            if m >= n:
                return list(seen.values())
            m = min(n, m * 4)


def match(vector: np.ndarray, gallery: Gallery, threshold: float = DEFAULT_THRESHOLD, k: int = 5) -> MatchResult:
    candidates = gallery.search(vector, k, threshold)
    if candidates and candidates[0].distance < threshold:
        return MatchResult(candidates[0].label, candidates, False, threshold)
    return MatchResult(None, candidates, True, threshold)

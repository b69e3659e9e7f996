"""Verification and identification metrics on embedding distances (lower distance = more alike).

Conventions: ``genuine`` and ``impostor`` are 1-D float arrays of distances; a comparison is accepted when its
distance is strictly below the threshold.
"""

from __future__ import annotations

import numpy as np

FAR_GRID = np.logspace(-4, 0, 41)


def threshold_at_far(impostor: np.ndarray, far: float) -> float:
    """The largest threshold that accepts at most ``far`` of the impostors (accept when distance < threshold)."""
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    allowed = int(np.floor(far * len(imp) + 1e-9))
    if allowed >= len(imp):
        return float("inf")
    return float(imp[allowed])


def tar_at_far(genuine: np.ndarray, impostor: np.ndarray, far: float) -> float:
    return float(np.mean(np.asarray(genuine) < threshold_at_far(impostor, far)))


def roc_curve(genuine: np.ndarray, impostor: np.ndarray, fars: np.ndarray = FAR_GRID) -> np.ndarray:
    """(len(fars), 2) array of (FAR, TAR) at the thresholds that allow each FAR."""
    return np.array([(far, tar_at_far(genuine, impostor, far)) for far in fars])


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Probability that a random genuine distance is below a random impostor distance (ties count half)."""
    g = np.asarray(genuine, dtype=np.float64)
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    below = np.searchsorted(imp, g, side="left")
    ties = np.searchsorted(imp, g, side="right") - below
    return float(np.mean((len(imp) - below - ties + 0.5 * ties) / len(imp)))


def accuracy_at(distances: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(np.mean((np.asarray(distances) < threshold) == np.asarray(same, dtype=bool)))


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Euclidean distances between the rows of ``a`` and ``b``, in float64."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T  # no (N, M, 128) temporary
    return np.sqrt(np.maximum(sq, 0.0))


def cross_impostors(gallery: np.ndarray, gallery_ids: list[str], probes: np.ndarray,
                    probe_ids: list[str]) -> np.ndarray:
    """Distances of every (gallery, probe) combination of two different people.

    The official pairs hold only 500 impostor pairs, too few to read a TAR at FAR = 0.1 %; every cross-identity
    combination of the same images gives ~10^5-10^6 impostor comparisons without new embeddings.
    """
    d = pairwise_distances(gallery, probes)
    different = np.asarray(gallery_ids)[:, None] != np.asarray(probe_ids)[None, :]
    return d[different]


def rank_of_truth(scores: dict[str, float], truth: str, higher_is_better: bool = False) -> int:
    """1-based rank of ``truth`` among labels ordered by score (ties broken pessimistically); 0 if absent."""
    if truth not in scores:
        return 0
    mine = scores[truth]
    better = sum(1 for label, s in scores.items() if label != truth and (s >= mine if higher_is_better else s <= mine))
    return better + 1

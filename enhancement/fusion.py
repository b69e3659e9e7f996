"""Track-level fusion: one decision from the many views of a face that a track holds.

Conventions: ``vectors`` is a ``(N, D)`` float array, one descriptor per frame of the track; ``weights`` is ``(N,)``,
each frame's measured quality weight (``enhancement.frames.Candidate.weight``: face size times ``crop_quality``'s
score of size, sharpness, exposure and pose), larger = better; ``gallery`` is ``(M, D)``. Distances are Euclidean,
as everywhere in the matcher. Pure NumPy (no Django, no TensorFlow); chip averaging also uses OpenCV.

The rules (``RULES``):
- ``best_k_distance``: the track's ``keep`` best frames by quality, weighted mean of their *distances* to each gallery
  row (the aggregation the product used before fusion, with ``keep`` = 3);
- ``pooled``: the quality-weighted mean of the ``keep`` best frames' *descriptors* (weights ``weight ** power``), then
  one distance per gallery row. Independent noise and blur in each frame move each descriptor off the identity's
  point in different directions; averaging cancels part of that before the distance is taken;
- ``mean``: ``pooled`` with every frame and equal weights;
- ``any_frame``: the smallest per-frame distance ("alert when any frame matches"). A baseline only: with N frames it
  gives a stranger N chances to fall under the threshold, so its false-alert rate grows with the track's length.

``average_chips``: multi-frame alignment and averaging of the embedder's aligned 150x150 chips (translation
registration by ECC to the best frame's chip) to make one chip to embed. A rule with ``chip_average`` counts that
chip's descriptor as one more view of the track: the distance to a gallery row is the smaller of the rule's and the
averaged chip's (``chip_vector``). Averaging registered frames cancels independent noise before the embedder sees
the face, which the per-frame rules cannot; measured in ``research/track_fusion.py``. It also keeps whatever the
frames share (a degradation, a pose), which can land the averaged chip nearer to someone the crops are far from, so
``FusionRule.chip_max_gain`` bounds the chip's say (``combine_views``; chosen in ``research/chip_guard.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

RULES = ("best_k_distance", "pooled", "mean", "any_frame")


@dataclass(frozen=True)
class FusionRule:
    """How a track's frames become one distance per gallery row. ``keep``: how many frames, best quality first
    (``None``: all); ``power``: the exponent on the quality weights (0: equal weights)."""

    name: str = "pooled"
    keep: int | None = None
    power: float = 1.0
    chip_average: bool = False  # the averaged chip's descriptor is one more view (the nearer distance counts)
    # None: the nearer view counts for every identity. A number: the averaged chip may lower only the distance of the
    # identity the fused crops are themselves nearest to, and by at most this much (``combine_views``).
    chip_max_gain: float | None = None

    def __post_init__(self) -> None:
        if self.name not in RULES:
            raise ValueError(f"unknown fusion rule {self.name!r}; choose one of {RULES}")
        if self.keep is not None and self.keep < 1:
            raise ValueError("keep must be >= 1 or None")
        if self.power < 0:
            raise ValueError("power must be >= 0")
        if self.chip_max_gain is not None and not self.chip_max_gain >= 0:
            raise ValueError("chip_max_gain must be >= 0 or None")


def _check(vectors: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(vectors, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError(f"vectors must be a non-empty (N, D) array, got shape {v.shape}")
    if w.shape[0] != v.shape[0]:
        raise ValueError(f"{v.shape[0]} vectors but {w.shape[0]} weights")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and >= 0")
    return v, w


def select_best(weights: np.ndarray, keep: int | None) -> np.ndarray:
    """Indices of the ``keep`` largest weights, best first; ties go to the earlier frame (stable)."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    order = np.argsort(-w, kind="stable")
    return order if keep is None else order[:keep]


def _normalised(w: np.ndarray, power: float) -> np.ndarray:
    w = w ** power if power else np.ones_like(w)
    total = w.sum()
    return w / total if total > 0 else np.full_like(w, 1.0 / len(w))


def pooled_descriptor(vectors: np.ndarray, weights: np.ndarray, keep: int | None = None,
                      power: float = 1.0) -> np.ndarray:
    """Quality-weighted mean descriptor of the track's ``keep`` best frames, ``float32`` ``(D,)``."""
    v, w = _check(vectors, weights)
    idx = select_best(w, keep)
    return (_normalised(w[idx], power) @ v[idx]).astype(np.float32)


def _distances(gallery: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(M, N) Euclidean distances, float64."""
    g = np.asarray(gallery, dtype=np.float64)
    if g.ndim != 2 or g.shape[1] != vectors.shape[1]:
        raise ValueError(f"gallery must be (M, {vectors.shape[1]}), got shape {g.shape}")
    sq = (g * g).sum(1)[:, None] + (vectors * vectors).sum(1)[None, :] - 2.0 * g @ vectors.T
    return np.sqrt(np.maximum(sq, 0.0))


def _chip_view(rule: FusionRule, chip_vector: np.ndarray | None, dim: int) -> np.ndarray | None:
    """The averaged chip's descriptor as a ``(1, D)`` float64 row when ``rule`` uses it, else None."""
    if not rule.chip_average or chip_vector is None:
        return None
    c = np.asarray(chip_vector, dtype=np.float64).reshape(-1)
    if c.shape[0] != dim or not np.all(np.isfinite(c)):
        raise ValueError(f"chip_vector must be a finite ({dim},) descriptor, got shape {c.shape}")
    return c[None, :]


def combine_views(frames: np.ndarray, chip: np.ndarray | None, rule: FusionRule) -> np.ndarray:
    """Each candidate's distance from the track's two views: ``frames``, the fused crops' distances ``(M,)`` (one
    per gallery row or identity, all of the candidates the decision is taken among), and ``chip``, the averaged
    chip's ``(M,)`` (None: no chip view). Without ``rule.chip_max_gain``, the nearer of the two for each candidate.
    With it, the chip may only lower the distance of the candidate the fused crops are nearest to (the first of
    equals), and by at most ``chip_max_gain``: it sharpens the crops' own answer near the threshold, but cannot name
    someone else nor turn a distant answer into a match."""
    f = np.asarray(frames, dtype=np.float64).reshape(-1)
    if chip is None:
        return f
    c = np.asarray(chip, dtype=np.float64).reshape(-1)
    if c.shape != f.shape:
        raise ValueError(f"{f.shape[0]} crop distances but {c.shape[0]} chip distances")
    if rule.chip_max_gain is None:
        return np.minimum(f, c)
    out = f.copy()
    if len(f):
        k = int(np.argmin(f))
        out[k] = max(min(f[k], c[k]), f[k] - rule.chip_max_gain)
    return out


def track_distances(gallery: np.ndarray, vectors: np.ndarray, weights: np.ndarray,
                    rule: FusionRule = FusionRule(), chip_vector: np.ndarray | None = None) -> np.ndarray:
    """One distance from the track to each gallery row under ``rule``: ``(M,)`` float64. With
    ``rule.chip_average``, ``chip_vector`` (the descriptor of ``average_chips`` of the track's frames) is one more
    view, combined with the rule's by ``combine_views`` (the nearer of the two, unless ``rule.chip_max_gain``)."""
    v, w = _check(vectors, weights)
    chip = _chip_view(rule, chip_vector, v.shape[1])
    d = _rule_distances(gallery, v, w, rule)
    return d if chip is None else combine_views(d, _distances(gallery, chip)[:, 0], rule)


def _rule_distances(gallery: np.ndarray, v: np.ndarray, w: np.ndarray, rule: FusionRule) -> np.ndarray:
    if rule.name == "pooled":
        pooled = pooled_descriptor(v, w, rule.keep, rule.power).astype(np.float64)[None, :]
        return _distances(gallery, pooled)[:, 0]
    if rule.name == "mean":
        return _distances(gallery, v.mean(axis=0, keepdims=True))[:, 0]
    d = _distances(gallery, v)
    if rule.name == "any_frame":
        return d.min(axis=1)
    idx = select_best(w, rule.keep)  # best_k_distance
    return d[:, idx] @ _normalised(w[idx], rule.power)


def identity_distance(rows: np.ndarray, vectors: np.ndarray, weights: np.ndarray,
                      rule: FusionRule = FusionRule(), chip_vector: np.ndarray | None = None) -> float:
    """The track's distance to one enrolled identity with several photos (``rows``, ``(R, D)``): the pooled
    descriptor's distance to the nearest photo, or, for the per-frame rules, each frame's distance to its nearest
    photo combined by the rule (what the matcher did before fusion); with ``rule.chip_average``, the averaged
    chip's distance to the nearest photo where that is smaller (with ``rule.chip_max_gain``, by at most that much:
    one identity alone cannot tell whether it is the crops' nearest, so a decision among identities combines
    ``identity_views`` with ``combine_views``)."""
    frames, chip = identity_views(rows, vectors, weights, rule, chip_vector)
    # One identity alone is its own crops' nearest: ``combine_views`` of that one candidate.
    return float(combine_views(np.array([frames]), None if chip is None else np.array([chip]), rule)[0])


def identity_views(rows: np.ndarray, vectors: np.ndarray, weights: np.ndarray, rule: FusionRule = FusionRule(),
                   chip_vector: np.ndarray | None = None) -> tuple[float, float | None]:
    """The track's distance to one identity by each view: its frames under ``rule`` (without the averaged chip),
    and the averaged chip's distance to the nearest photo (None when the rule does not use it or none is given).
    ``identity_distance`` is the nearer of the two."""
    v, w = _check(vectors, weights)
    chip = _chip_view(rule, chip_vector, v.shape[1])
    frames = _identity_rule_distance(rows, v, w, rule)
    return frames, (None if chip is None else float(_distances(rows, chip).min()))


def identities_distances(rows_by_identity: list[np.ndarray], vectors: np.ndarray, weights: np.ndarray,
                         rule: FusionRule = FusionRule(),
                         chip_vector: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The track's distances to several enrolled identities (each ``(R, D)`` rows of its photos), the candidates a
    decision is taken among: ``(crops, combined)``, each ``(M,)`` float64; ``crops`` by the frames under ``rule``
    alone, ``combined`` with the averaged chip's view by ``combine_views`` (the same as ``crops`` without one)."""
    views = [identity_views(rows, vectors, weights, rule, chip_vector) for rows in rows_by_identity]
    crops = np.array([f for f, _ in views], dtype=np.float64)
    chips = None if not views or views[0][1] is None else np.array([c for _, c in views], dtype=np.float64)
    return crops, combine_views(crops, chips, rule)


def _identity_rule_distance(rows: np.ndarray, v: np.ndarray, w: np.ndarray, rule: FusionRule) -> float:
    if rule.name in ("pooled", "mean"):
        return float(track_distances(rows, v, w, rule).min())
    nearest = _distances(rows, v).min(axis=0)  # (N,): each frame's nearest photo of this identity
    if rule.name == "any_frame":
        return float(nearest.min())
    idx = select_best(w, rule.keep)
    return float(nearest[idx] @ _normalised(w[idx], rule.power))


REGISTRATION_LIMIT = 0.1  # the largest ECC shift trusted, as a fraction of the chip's width


def register_translation(reference: np.ndarray, image: np.ndarray, iterations: int = 50,
                         limit: float = REGISTRATION_LIMIT) -> np.ndarray:
    """2x3 translation that maps ``image`` onto ``reference`` (ECC on grey float copies); identity if ECC fails or
    finds a shift larger than ``limit`` times the chip's width (0: no registration, the landmarks' alignment only)."""
    if limit <= 0:
        return np.eye(2, 3, dtype=np.float32)
    def grey(x: np.ndarray) -> np.ndarray:
        g = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) if x.ndim == 3 else x
        return g.astype(np.float32)

    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, 1e-4)
    try:
        _, found = cv2.findTransformECC(grey(reference), grey(image), warp, cv2.MOTION_TRANSLATION, criteria, None)
    except cv2.error:  # no convergence (flat or very noisy chips): leave the chip where the landmarks put it
        return np.eye(2, 3, dtype=np.float32)
    warp = np.asarray(found, dtype=np.float32)
    if not np.all(np.isfinite(warp)) or np.abs(warp[:, 2]).max() > limit * reference.shape[1]:
        return np.eye(2, 3, dtype=np.float32)  # a jump larger than landmark error: distrust it
    return warp


@dataclass(frozen=True)
class ChipAverage:
    """The registered average of a track's aligned chips, and how it was made (its provenance): ``order`` are the
    positions of the averaged chips in the list given, best first (the first is the reference the others were
    registered to); ``shares`` their weights in the mean (summing to 1); ``shifts`` each chip's registration
    translation ``(dx, dy)`` in chip pixels (``(0, 0)`` for the reference, and where ECC found nothing to trust)."""

    image: np.ndarray  # uint8, the chips' shape and channel order
    order: tuple[int, ...]
    shares: tuple[float, ...]
    shifts: tuple[tuple[float, float], ...]


def average_chips(chips: list[np.ndarray], weights: np.ndarray, keep: int | None = None,
                  limit: float = REGISTRATION_LIMIT) -> np.ndarray:
    """Register the ``keep`` best chips to the best one (``register_translation`` with ``limit``) and average them
    (quality-weighted): one ``uint8`` chip."""
    return average_chips_recorded(chips, weights, keep, limit).image


def average_chips_recorded(chips: list[np.ndarray], weights: np.ndarray, keep: int | None = None,
                           limit: float = REGISTRATION_LIMIT) -> ChipAverage:
    """``average_chips`` with its provenance: which chips, their shares and registration shifts."""
    if not chips:
        raise ValueError("no chips to average")
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != len(chips):
        raise ValueError(f"{len(chips)} chips but {len(w)} weights")
    idx = select_best(w, keep)
    reference = chips[idx[0]]
    h, wd = reference.shape[:2]
    acc = np.zeros(reference.shape, np.float64)
    shares = _normalised(w[idx], 1.0)
    shifts: list[tuple[float, float]] = []
    for i, share in zip(idx, shares, strict=True):
        chip = chips[i]
        warp = np.eye(2, 3, dtype=np.float32)
        if i != idx[0]:
            warp = register_translation(reference, chip, limit=limit)
            chip = cv2.warpAffine(chip, warp, (wd, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_REFLECT)
        shifts.append((round(float(warp[0, 2]), 3), round(float(warp[1, 2]), 3)))
        acc += share * chip.astype(np.float64)
    image = np.clip(np.rint(acc), 0, 255).astype(np.uint8)
    return ChipAverage(image, tuple(int(i) for i in idx), tuple(round(float(s), 4) for s in shares), tuple(shifts))

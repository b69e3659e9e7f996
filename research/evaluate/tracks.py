"""Section 5 of the report: tracks. N poor frames of one person, one decision, for each probe embedder.

A track is ``research.track_fusion``'s synthetic one: frame f of the probe image B is B shifted by a random
sub-pixel amount and degraded with a seed of its own (new blur kernel, noise and gain draw), cropped with the LFW
face box, scored as the best-crop keeper scores it and aligned as ``TrackMatcher`` aligns. Each frame's chip is
described by every probe embedder (dlib's network and the student), so both see the same frames. N = 1, 4, 8 are
the first frames of the same track.

Rules compared, in the same run: the product's (``AnalysisConfig().fusion_rule``), the aggregation the product used
before fusion was measured (mean distance of the best 3 crops, quality weight ^1), and the naive loop (every frame
embedded, an alert when any frame matches, at the same threshold). Verification: each rule's threshold at FAR = 1 %
from ``pairsDevTrain`` tracks of the same degradation, length and embedder; TAR and the FAR reached on the report's
``pairsDevTest`` pairs. Identification: the enrolled people are the A images of the same-person pairs, strangers
the B tracks of people not enrolled, at the alert threshold of the product for that gallery's size and that
embedder (``enhancement.match.open_set_threshold`` on the embedder's own calibration table).

Cached per (split, degradation, pairs, frames, seed, embedders) under the report's cache folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from enhancement.analysis.config import AnalysisConfig
from enhancement.fusion import FusionRule, average_chips

from .. import track_fusion as tf_
from ..calibrate_matcher import balanced_dev_train
from .metrics import threshold_at_far
from .verification import load, select_pairs

DEGRADATIONS = ("combined", "blur", "low_light")
LENGTHS = (1, 4, 8)
TRAIN_PAIRS = 300  # pairsDevTrain tracks: thresholds only (300 x 300 comparisons, ~90,000 impostors)
FAR = 0.01
BEFORE = FusionRule("best_k_distance", keep=3, power=1.0)
ANY = FusionRule("any_frame")

Describe = Callable[[list[np.ndarray]], np.ndarray]
Pairs = list[tuple[Path, Path, bool]]


def product_rule() -> FusionRule:
    return AnalysisConfig().fusion_rule


def rule_label(rule: FusionRule) -> str:
    if rule == ANY:
        return "any frame (naive loop)"
    if rule == BEFORE:
        return "best-3, weight^1 (before fusion)"
    keep = "all" if rule.keep is None else rule.keep
    chip = ""
    if rule.chip_average:
        chip = (", or the averaged chip" if rule.chip_max_gain is None else
                f", or the averaged chip for the crops' nearest identity, by at most {rule.chip_max_gain:g}")
    if rule == product_rule():
        return f"product: best-{keep} mean distance, weight^{rule.power:g}" + chip
    return f"best-{keep} mean distance, weight^{rule.power:g}" + (chip or " (the product's, without the averaged chip)")


@dataclass
class TrackSection:
    rows: list[dict[str, Any]] = field(default_factory=list)
    test_pairs: int = 0
    train_pairs: int = 0
    enrolled: int = 0
    elapsed_s: float = 0.0
    frames_built: int = 0


def tracks_cache_dir(root: Path, student_tag: str | None) -> Path:
    """The folder of the track vectors under the evaluation's cache: named by the code that makes them and the
    student's weights, so a change to either starts afresh."""
    from .cache import code_tag

    return root / ("tracks-" + code_tag("enhancement.embed", "enhancement.embed_tf", "enhancement.student",
                                        "enhancement.frames", "research.degrade", "research.track_fusion")
                   + (f"-{student_tag}" if student_tag else ""))


def frames_needed(test_pairs: int, train_pairs: int, degradations: list[str], lengths: tuple[int, ...]) -> int:
    return len(degradations) * (test_pairs + train_pairs) * max(lengths)


def chip_lengths(nmax: int) -> tuple[int, ...]:
    """Track lengths whose averaged chip is embedded (one frame's average is the frame itself)."""
    return tuple(n for n in LENGTHS if 1 < n <= nmax)


Built = tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]


def build(pairs: Pairs, split: str, degradation: str, nmax: int, seed: int, describers: dict[str, Describe],
          cache: Path | None, bar: Any) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray], int]:
    """Per embedder (P, nmax, 128) vectors, the (P, nmax) quality weights and per embedder the (P, L, 128)
    descriptors of the averaged chips of the first n frames (n in ``chip_lengths``); the number of frames
    computed."""
    lengths = chip_lengths(nmax)
    if cache is not None and cache.exists():
        with np.load(cache) as data:
            if all(f"v_{name}" in data.files and f"c_{name}" in data.files for name in describers):
                bar.update(len(pairs) * nmax)
                return ({name: data[f"v_{name}"] for name in describers}, data["weights"],
                        {name: data[f"c_{name}"] for name in describers}, 0)
    face_px = AnalysisConfig().embed_face_px
    vectors = {name: np.zeros((len(pairs), nmax, 128), np.float32) for name in describers}
    averaged = {name: np.zeros((len(pairs), len(lengths), 128), np.float32) for name in describers}
    weights = np.zeros((len(pairs), nmax), np.float64)
    for i, (_, b, _) in enumerate(pairs):
        clean = load(b)
        frames = [tf_.track_frame(clean, degradation, tf_.frame_seed(seed, split, i, degradation, f), face_px)
                  for f in range(nmax)]
        chips = [c for c, _ in frames]
        weights[i] = [w for _, w in frames]
        chip_avgs = [average_chips(chips[:n], weights[i, :n]) for n in lengths]
        for name, describe in describers.items():
            described = describe(chips + chip_avgs)
            vectors[name][i] = described[:nmax]
            averaged[name][i] = described[nmax:]
        bar.update(nmax)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, weights=weights, **{f"v_{name}": v for name, v in vectors.items()},
                 **{f"c_{name}": c for name, c in averaged.items()})
    return vectors, weights, averaged, len(pairs) * nmax


def alert_thresholds(enrolled: int) -> dict[str, float]:
    """The product's open-set alert threshold for a gallery of ``enrolled`` people, per probe embedder."""
    from enhancement.match import open_set_threshold

    from .identification import student_thresholds

    out = {"teacher": open_set_threshold(enrolled)}
    student = student_thresholds(enrolled)
    if student is not None:
        out["student"] = student[1]
    return out


@dataclass
class TrackData:
    """Both splits' pairs, the teacher's gallery of each split and every (split, degradation)'s track vectors."""

    splits: dict[str, Pairs]
    galleries: dict[str, np.ndarray]
    data: dict[tuple[str, str], Built]
    frames_built: int

    def tracks(self, split: str, degradation: str, embedder: str) -> tf_.Tracks:
        vectors, weights, averaged = self.data[(split, degradation)]
        return tf_.Tracks(vectors[embedder], weights, averaged[embedder], chip_lengths(vectors[embedder].shape[1]))


def load_tracks(test_pairs: Pairs, degradations: list[str] | tuple[str, ...], describers: dict[str, Describe],
                seed: int, cache_dir: Path | None, bar: Any, nmax: int, train_pairs: int) -> TrackData:
    """Build (or read from ``cache_dir``) the tracks of ``train_pairs`` pairsDevTrain pairs and of the given
    pairsDevTest pairs, their identities checked to be disjoint."""
    splits = {"train": select_pairs(balanced_dev_train(), train_pairs, seed), "test": test_pairs}
    train_ids = {p.parent.name for a, b, _ in splits["train"] for p in (a, b)}
    test_ids = {p.parent.name for a, b, _ in splits["test"] for p in (a, b)}
    if train_ids & test_ids:
        raise AssertionError(f"pairsDevTrain and pairsDevTest share identities: {sorted(train_ids & test_ids)[:5]}")
    tag = "_".join(sorted(describers))
    galleries = {}
    for split, pairs in splits.items():
        path = None if cache_dir is None else cache_dir / f"gallery_{split}_{len(pairs)}_{seed}.npy"
        galleries[split] = tf_.gallery_vectors(pairs, path) if path is not None else _gallery(pairs)
    data, built = {}, 0
    for deg in degradations:
        for split, pairs in splits.items():
            path = None if cache_dir is None else cache_dir / f"{tag}_{split}_{deg}_{len(pairs)}_{nmax}_{seed}.npz"
            vectors, weights, averaged, frames = build(pairs, split, deg, nmax, seed, describers, path, bar)
            data[(split, deg)] = (vectors, weights, averaged)
            built += frames
    return TrackData(splits, galleries, data, built)


def run_tracks(test_pairs: Pairs, degradations: list[str], describers: dict[str, Describe], seed: int,
               cache_dir: Path | None, bar: Any, lengths: tuple[int, ...] = LENGTHS,
               train_pairs: int = TRAIN_PAIRS) -> TrackSection:
    t0 = time.perf_counter()
    loaded = load_tracks(test_pairs, degradations, describers, seed, cache_dir, bar, max(lengths), train_pairs)
    splits, galleries = loaded.splits, loaded.galleries
    section = TrackSection(test_pairs=len(test_pairs), train_pairs=len(splits["train"]),
                           enrolled=tf_.enrolled_count(test_pairs), frames_built=loaded.frames_built)
    alerts = alert_thresholds(section.enrolled)
    product = product_rule()
    rules = list(dict.fromkeys([product, replace(product, chip_average=False), BEFORE, ANY]))
    for deg in degradations:
        for embedder in describers:
            tracks = {s: loaded.tracks(s, deg, embedder) for s in splits}
            for n in lengths:
                for rule in rules:
                    _, imp_tr = tf_.split_scores(tf_.distance_matrix(galleries["train"], tracks["train"], n, rule),
                                                 splits["train"])
                    thr = threshold_at_far(imp_tr, FAR)
                    gen, imp = tf_.split_scores(tf_.distance_matrix(galleries["test"], tracks["test"], n, rule),
                                                splits["test"])
                    row: dict[str, Any] = {
                        "degradation": deg, "embedder": embedder, "frames": n, "rule": rule_label(rule),
                        "threshold": round(thr, 4), "tar_far_1pct": round(float(np.mean(gen < thr)), 4),
                        "far_reached": round(float(np.mean(imp < thr)), 4)}
                    alert = alerts.get(embedder)
                    if alert is not None:
                        ident = tf_.identification(galleries["test"], tracks["test"], splits["test"], n, rule, alert)
                        row.update({"alert_threshold": round(alert, 4)})
                        row.update({f"id_{k}": (round(v, 4) if isinstance(v, float) else v) for k, v in ident.items()})
                    section.rows.append(row)
    section.elapsed_s = time.perf_counter() - t0
    return section


def _gallery(pairs: Pairs) -> np.ndarray:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return tf_.gallery_vectors(pairs, Path(tmp) / "gallery.npy")

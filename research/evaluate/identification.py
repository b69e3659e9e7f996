"""Section 3 of the report: open-set identification against an enrolled gallery of LFW evaluation identities.

Gallery: ``gallery_size`` identities of the evaluation split with >= 5 images, each enrolled with 1-3 clean
photos (drawn per identity). Known probes: up to ``probes_per_identity`` other photos of each enrolled person.
Unknown probes: one photo each of evaluation identities that were never enrolled. Probes are degraded and treated
exactly as in verification. Methods: nearest neighbour (``match.Gallery`` + ``match.match`` at the calibrated
threshold) and the Keras classifier head (``research.evaluate.classifier_head``) trained on the enrolment vectors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from enhancement.datasets import lfw_images, split_identities

from .. import degrade
from .cache import EmbeddingCache
from .metrics import rank_of_truth, threshold_at_far
from .probes import LFW_SIZE, face_crop, make_variant, probe_embedder
from .verification import load, probe_seed


@dataclass
class IdentificationSet:
    enrol: dict[str, list[Path]]
    known: list[Path]
    unknown: list[Path]

    def identities(self) -> set[str]:
        return set(self.enrol) | {p.parent.name for p in self.unknown}


def build_set(gallery_size: int, probes_per_identity: int, seed: int) -> IdentificationSet:
    rng = np.random.default_rng(seed)
    rich = sorted(i for i in split_identities("eval") if len(lfw_images(i)) >= 5)
    enrolled = sorted(rng.choice(rich, size=min(gallery_size, len(rich)), replace=False).tolist())
    enrol, known = {}, []
    for identity in enrolled:
        photos = list(lfw_images(identity))
        rng.shuffle(photos)
        k = int(rng.integers(1, 4))
        enrol[identity] = photos[:k]
        known += photos[k:k + probes_per_identity]
    others = sorted(i for i in split_identities("eval") if i not in enrol and lfw_images(i))
    chosen = rng.choice(others, size=min(len(known), len(others)), replace=False)
    unknown = [lfw_images(i)[int(rng.integers(len(lfw_images(i))))] for i in sorted(chosen)]
    return IdentificationSet(enrol, known, unknown)


@dataclass
class IdentificationRow:
    degradation: str
    variant: str
    method: str
    known: int
    unknown: int
    rank1: float
    rank5: float
    identified_at_threshold: float  # known probes accepted with the right label
    false_alert_rate: float  # unknown probes accepted as someone
    threshold: float
    # open-set operating point set on these unknown probes (an oracle, for orientation only): the distance threshold
    # that lets 1 % of unknown probes through, and the share of known probes identified correctly under it
    threshold_at_1pct_false_alerts: float | None = None
    identified_at_1pct_false_alerts: float | None = None


@dataclass
class IdentificationResult:
    rows: list[IdentificationRow] = field(default_factory=list)
    enrolled: int = 0
    enrolment_photos: int = 0
    elapsed_s: float = 0.0
    classifier_note: str = ""


def _embed_probe(path: Path, index: int, degradation: str, variant: str, cache: EmbeddingCache,
                 seed: int, alt_policy: Any = None) -> np.ndarray:
    degraded = degrade.degrade(load(path), degradation, probe_seed(seed, 10_000 + index, degradation))
    crop, box = face_crop(degraded.image, degraded.image.shape[1] / LFW_SIZE)
    out = make_variant(variant, crop, box, downscaled=degraded.scale < 1, policy=alt_policy)
    return cache.embed(out.image, out.box, probe_embedder(variant))


def _nn_scores(gallery: Any, vec: np.ndarray) -> dict[str, float]:
    """Distance to each enrolled identity's nearest photo (lower is better)."""
    scores: dict[str, float] = {}
    for cand in gallery.search(vec, len(gallery.labels)):
        scores[cand.label] = min(cand.distance, scores.get(cand.label, np.inf))
    return scores


def _summarise(known_ranks: list[int], known_ok: list[bool], unknown_hits: list[bool], degradation: str,
               variant: str, method: str, threshold: float) -> IdentificationRow:
    ranks = np.array(known_ranks)
    return IdentificationRow(degradation, variant, method, len(known_ranks), len(unknown_hits),
                             float(np.mean((ranks >= 1) & (ranks <= 1))), float(np.mean((ranks >= 1) & (ranks <= 5))),
                             float(np.mean(known_ok)), float(np.mean(unknown_hits)), threshold)


def student_thresholds(enrolled: int) -> tuple[float, float] | None:
    """The student's per-pair threshold (best pairsDevTrain accuracy, as ``DEFAULT_THRESHOLD``) and its open-set
    threshold for ``enrolled`` people (its own pairsDevTrain table), as the product uses them; None without its
    calibration file."""
    from enhancement.match import calibration, open_set_table_for, open_set_threshold

    data = calibration("student")
    if data is None:
        return None
    threshold = float(data["threshold"])
    return threshold, open_set_threshold(enrolled, 0.01, ceiling=threshold, table=open_set_table_for("student"))


def enrolment_vectors(ident: IdentificationSet, cache: EmbeddingCache) -> tuple[np.ndarray, list[str]]:
    """dlib's descriptors of every enrolment photo (clean, cropped as probes are) and each one's identity."""
    vectors, labels = [], []
    for identity, photos in ident.enrol.items():
        for path in photos:
            crop, box = face_crop(load(path), 1.0)
            vectors.append(cache.embed(crop, box))
            labels.append(identity)
    return np.stack(vectors), labels


def run_identification(ident: IdentificationSet, conditions: list[tuple[str, str]], cache: EmbeddingCache,
                       seed: int, progress: Any = None, alt_policy: Any = None) -> IdentificationResult:
    from enhancement.match import DEFAULT_THRESHOLD, Gallery, match, open_set_threshold

    t0 = time.perf_counter()
    vectors, labels = enrolment_vectors(ident, cache)
    gallery = Gallery(vectors, labels)
    head, note = _train_head(vectors, labels, seed)
    result = IdentificationResult(enrolled=len(ident.enrol), enrolment_photos=len(labels), classifier_note=note)
    threshold = float(DEFAULT_THRESHOLD)
    # What the product alerts with: the per-pair threshold tightened for this gallery's size (calibrated on LFW
    # pairsDevTrain, not on these probes) so that about 1 % of strangers alert.
    open_set = open_set_threshold(len(ident.enrol), 0.01)
    student_open_set = student_threshold = None
    if any(probe_embedder(v) for _, v in conditions):
        student_threshold, student_open_set = student_thresholds(len(ident.enrol)) or (None, None)
    teacher_threshold, teacher_open_set = threshold, open_set
    for degradation, variant in conditions:
        threshold, open_set = teacher_threshold, teacher_open_set
        if probe_embedder(variant) and student_threshold is not None and student_open_set is not None:
            threshold, open_set = student_threshold, student_open_set
        known_vecs = [_embed_probe(p, i, degradation, variant, cache, seed, alt_policy)
                      for i, p in enumerate(ident.known)]
        if progress is not None:
            progress.update(len(ident.known))
        unknown_vecs = [_embed_probe(p, 5_000 + i, degradation, variant, cache, seed, alt_policy)
                        for i, p in enumerate(ident.unknown)]
        if progress is not None:
            progress.update(len(ident.unknown))
        truths = [p.parent.name for p in ident.known]
        ranks = [rank_of_truth(_nn_scores(gallery, v), t) for v, t in zip(known_vecs, truths, strict=True)]
        ok = [match(v, gallery, threshold).label == t for v, t in zip(known_vecs, truths, strict=True)]
        alerts = [match(v, gallery, threshold).label is not None for v in unknown_vecs]
        row = _summarise(ranks, ok, alerts, degradation, variant, "nearest_neighbour", threshold)
        known_best = [gallery.search(v, 1)[0] for v in known_vecs]
        unknown_nearest = np.array([gallery.search(v, 1)[0].distance for v in unknown_vecs])
        t1 = threshold_at_far(unknown_nearest, 0.01)
        row.threshold_at_1pct_false_alerts = round(float(t1), 4)
        row.identified_at_1pct_false_alerts = float(np.mean([c.label == t and c.distance < t1
                                                             for c, t in zip(known_best, truths, strict=True)]))
        result.rows.append(row)
        ok_open = [match(v, gallery, open_set).label == t for v, t in zip(known_vecs, truths, strict=True)]
        alerts_open = [match(v, gallery, open_set).label is not None for v in unknown_vecs]
        result.rows.append(_summarise(ranks, ok_open, alerts_open, degradation, variant,
                                      "nearest_neighbour_open_set", round(open_set, 4)))
        if head is not None:
            result.rows.append(_head_row(head, known_vecs, truths, unknown_vecs, degradation, variant))
    cache.save()
    result.elapsed_s = time.perf_counter() - t0
    return result


def _train_head(vectors: np.ndarray, labels: list[str], seed: int) -> tuple[Any, str]:
    from .classifier_head import ClassifierHead

    head = ClassifierHead(seed=seed).fit(vectors, labels)
    return head, (f"`ClassifierHead` (Dense {head.hidden} + softmax, {head.epochs} epochs, seed {seed}) trained "
                  f"on the {len(labels)} enrolment vectors; it answers 'unknown' unless its top probability is >= "
                  f"{head.min_probability} and that identity's nearest photo is within the threshold.")


def _head_row(head: Any, known_vecs: list[np.ndarray], truths: list[str], unknown_vecs: list[np.ndarray],
              degradation: str, variant: str) -> IdentificationRow:
    probs = np.asarray(head.model(np.stack(known_vecs).astype(np.float32), training=False))
    ranks = [rank_of_truth(dict(zip(head.classes, p.tolist(), strict=True)), t, higher_is_better=True)
             for p, t in zip(probs, truths, strict=True)]
    ok = [head.predict(v)[0] == t for v, t in zip(known_vecs, truths, strict=True)]
    alerts = [head.predict(v)[0] is not None for v in unknown_vecs]
    return _summarise(ranks, ok, alerts, degradation, variant, "classifier_head", float(head.threshold))

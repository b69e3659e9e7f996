"""Track-level fusion measured on synthetic LFW tracks: which rule turns N poor views into one good decision.

Run: ``python -m research.track_fusion`` (300 pairs per split, ~20 min on one core from an empty cache);
``--pairs`` scales it, ``--embedder student [--student-weights PATH]`` measures the student embedder on the probes
(the gallery is always the teacher, dlib's network, on the clean image). Writes ``docs/evaluation/track_fusion.md``
and ``track_fusion.csv``; embeddings are cached under ``runs/track_fusion/`` (git-ignored).

Protocol (that of ``research.evaluate``): for an LFW pair (A, B), the gallery is the embedding of the clean A; the
probe is a *track* of N frames made from B: each frame is B shifted by a random sub-pixel amount (uniform +-2 px at
250 px, i.e. +-0.5 px after the x4 of ``combined``), then degraded by ``research.degrade`` with a seed of its own
(new blur kernel, noise and gain draw per frame), cropped with the LFW face box and the analysis' margin, scored by
``enhancement.frames.crop_quality`` as the best-crop keeper scores it, and embedded as ``TrackMatcher`` embeds.
Tracks of N = 1, 4, 8 (30) are the first N frames of the same track. Impostors: every cross-identity (gallery,
track) combination. Each rule's threshold is chosen at FAR = 1 % on ``pairsDevTrain`` tracks of the same
degradation and length; TAR and the FAR actually reached are read on ``pairsDevTest`` at that threshold. The pooled
rule's parameters (how many frames, quality exponent) and the rule the product uses are chosen on pairsDevTrain only.

Identification (pairsDevTest): the enrolled people are the A images of the same-person pairs, the known probes their
B tracks; strangers are the B tracks of the different-person pairs whose person is not enrolled. At the threshold
the footage analysis alerts with (``enhancement.match.open_set_threshold`` for the gallery's size, 1 % of strangers
expected to alert on a single clean face): a track is identified when its decision is its own person, a
wrong identity when it names another, and a stranger alert when a stranger's track names anyone. "Any frame" alerts
on every frame's match, so one track can both be identified and raise a wrong identity.
"""

from __future__ import annotations

import argparse
import csv
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from enhancement.analysis.config import AnalysisConfig
from enhancement.analysis.matching import embedding_view
from enhancement.datasets import REPO_ROOT, lfw_pairs
from enhancement.embed import aligned_chips, describe_chips
from enhancement.frames import crop_quality
from enhancement.fusion import REGISTRATION_LIMIT, FusionRule, average_chips, track_distances
from enhancement.match import open_set_threshold

from . import degrade
from .calibrate_matcher import balanced_dev_train
from .evaluate.metrics import threshold_at_far
from .evaluate.probes import LFW_SIZE, face_crop
from .evaluate.verification import load, select_pairs

OUT = REPO_ROOT / "docs" / "evaluation"
CACHE = REPO_ROOT / "runs" / "track_fusion"
SHIFT_PX = 2.0  # sub-pixel at the x4 of ``combined``
FAR = 0.01
TRACK_LENGTHS = (1, 4, 8, 30)
CHIP_AVERAGE_LENGTHS = (4, 8, 30)
# The pooled rule's grid, searched on pairsDevTrain: frames kept (best quality first; None = all) x quality exponent.
POOL_KEEP = (3, 8, 16, None)
POOL_POWER = (0.0, 1.0, 2.0, 4.0)
TODAY = FusionRule("best_k_distance", keep=3, power=1.0)
ANY = FusionRule("any_frame")
MEAN = FusionRule("mean")
MEAN_DISTANCE = FusionRule("best_k_distance", keep=None, power=1.0)

Describe = Callable[[list[np.ndarray]], np.ndarray]


def frame_seed(seed: int, split: str, index: int, degradation: str, frame: int) -> int:
    return zlib.crc32(f"{seed}:{split}:{index}:{degradation}:{frame}".encode())


def shifted(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    dx, dy = rng.uniform(-SHIFT_PX, SHIFT_PX, 2)
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT)


def track_frame(clean: np.ndarray, degradation: str, seed: int, face_px: int) -> tuple[np.ndarray, float]:
    """One frame of a synthetic track: the embedder's aligned chip and the frame's quality weight."""
    moved = shifted(clean, degrade.rng_for(seed, "shift"))
    out = degrade.degrade(moved, degradation, seed).image
    crop, box = face_crop(out, out.shape[1] / LFW_SIZE)
    x, y, w, h = box
    quality = crop_quality(crop[y:y + h, x:x + w])
    weight = float(np.sqrt(w * h) * quality.score)  # enhancement.frames.Candidate.weight
    image, ebox = embedding_view(crop, box, face_px)
    chips, _ = aligned_chips(image, [ebox])
    return chips[0], weight


@dataclass
class Tracks:
    """One split's tracks for one degradation."""

    vectors: np.ndarray  # (P, N, 128)
    weights: np.ndarray  # (P, N)
    chip_avg: np.ndarray  # (P, len(lengths), 128): embedding of the averaged chips of the first n frames
    chip_lengths: tuple[int, ...]


def build_tracks(pairs: list[tuple[Path, Path, bool]], split: str, degradation: str, nmax: int, seed: int,
                 describe: Describe, cache_path: Path, log: Callable[[str], None],
                 registration_limit: float = REGISTRATION_LIMIT) -> Tracks:
    if cache_path.exists():
        with np.load(cache_path) as data:
            return Tracks(data["vectors"], data["weights"], data["chip_avg"], tuple(int(n) for n in data["lengths"]))
    face_px = AnalysisConfig().embed_face_px
    lengths = tuple(n for n in CHIP_AVERAGE_LENGTHS if n <= nmax)
    vectors = np.zeros((len(pairs), nmax, 128), np.float32)
    weights = np.zeros((len(pairs), nmax), np.float64)
    chip_avg = np.zeros((len(pairs), len(lengths), 128), np.float32)
    t0 = time.perf_counter()
    for i, (_, b, _) in enumerate(pairs):
        clean = load(b)
        frames = [track_frame(clean, degradation, frame_seed(seed, split, i, degradation, f), face_px)
                  for f in range(nmax)]
        chips = [c for c, _ in frames]
        weights[i] = [w for _, w in frames]
        averaged = [average_chips(chips[:n], weights[i, :n], limit=registration_limit) for n in lengths]
        described = describe(chips + averaged)
        vectors[i] = described[:nmax]
        chip_avg[i] = described[nmax:]
        if (i + 1) % 50 == 0:
            log(f"  {split} {degradation}: {i + 1}/{len(pairs)} tracks ({time.perf_counter() - t0:.0f} s)")
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_path, vectors=vectors, weights=weights, chip_avg=chip_avg, lengths=np.array(lengths))
    return Tracks(vectors, weights, chip_avg, lengths)


def gallery_vectors(pairs: list[tuple[Path, Path, bool]], cache_path: Path) -> np.ndarray:
    """The teacher (dlib's network, TF port) on the clean A images, as the registry enrols photos."""
    if cache_path.exists():
        return np.load(cache_path)
    chips = []
    for a, _, _ in pairs:
        crop, box = face_crop(load(a), 1.0)
        image, ebox = embedding_view(crop, box, AnalysisConfig().embed_face_px)
        chips.append(aligned_chips(image, [ebox])[0][0])
    out = describe_chips(chips, "tf")
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache_path, out)
    return out


def distance_matrix(gallery: np.ndarray, tracks: Tracks, n: int, rule: FusionRule | str) -> np.ndarray:
    """(P gallery, P tracks) distances under ``rule`` using each track's first ``n`` frames (``"chip_avg"``: the
    embedding of the averaged chips)."""
    if rule == "chip_avg":  # n == 1: the frame's own embedding
        if n == 1:
            return distance_matrix(gallery, tracks, 1, MEAN)
        v = tracks.chip_avg[:, tracks.chip_lengths.index(n)].astype(np.float64)
        g = gallery.astype(np.float64)
        return np.sqrt(np.maximum((g * g).sum(1)[:, None] + (v * v).sum(1)[None] - 2 * g @ v.T, 0))
    assert isinstance(rule, FusionRule)
    chips = None
    if rule.chip_average:  # one frame: its own chip; longer tracks: the averaged chip of their first n frames
        chips = tracks.vectors[:, 0] if n == 1 else tracks.chip_avg[:, tracks.chip_lengths.index(n)]
    cols = [track_distances(gallery, tracks.vectors[j, :n], tracks.weights[j, :n], rule,
                            None if chips is None else chips[j])
            for j in range(tracks.vectors.shape[0])]
    return np.stack(cols, axis=1)


def split_scores(d: np.ndarray, pairs: list[tuple[Path, Path, bool]]) -> tuple[np.ndarray, np.ndarray]:
    same = np.array([s for _, _, s in pairs])
    ref = np.array([a.parent.name for a, _, _ in pairs])
    probe = np.array([b.parent.name for _, b, _ in pairs])
    genuine = np.diag(d)[same]
    impostor = d[ref[:, None] != probe[None, :]]
    return genuine, impostor


def any_frame_alerts(gallery: np.ndarray, labels: np.ndarray, vectors: np.ndarray, threshold: float) -> set[str]:
    """Every identity some frame's nearest enrolled photo names under the threshold."""
    d = np.linalg.norm(gallery[:, None, :].astype(np.float64) - vectors[None].astype(np.float64), axis=2)  # (M, n)
    nearest = d.argmin(axis=0)
    return {str(labels[k]) for f, k in enumerate(nearest) if d[k, f] < threshold}


def enrolled_count(pairs: list[tuple[Path, Path, bool]]) -> int:
    return len({a.parent.name for a, _, s in pairs if s})


def identification(gallery: np.ndarray, tracks: Tracks, pairs: list[tuple[Path, Path, bool]], n: int,
                   rule: FusionRule | str, threshold: float) -> dict[str, float]:
    same = np.array([s for _, _, s in pairs])
    enrolled_rows = np.flatnonzero(same)
    labels = np.array([pairs[i][0].parent.name for i in enrolled_rows])
    known = set(labels)
    probes = [(j, pairs[j][1].parent.name) for j in range(len(pairs))
              if same[j] or pairs[j][1].parent.name not in known]
    g = gallery[enrolled_rows]
    identified = wrong = alerts = known_n = strangers = 0
    if rule == ANY:
        for j, truth in probes:
            named = any_frame_alerts(g, labels, tracks.vectors[j, :n], threshold)
            if truth in known:
                known_n += 1
                identified += truth in named
                wrong += bool(named - {truth})
            else:
                strangers += 1
                alerts += bool(named)
    else:
        sub = Tracks(tracks.vectors[[j for j, _ in probes]], tracks.weights[[j for j, _ in probes]],
                     tracks.chip_avg[[j for j, _ in probes]], tracks.chip_lengths)
        d = distance_matrix(g, sub, n, rule)  # (M, probes)
        for col, (_, truth) in enumerate(probes):
            k = int(d[:, col].argmin())
            named = {str(labels[k])} if d[k, col] < threshold else set()
            if truth in known:
                known_n += 1
                identified += truth in named
                wrong += bool(named - {truth})
            else:
                strangers += 1
                alerts += bool(named)
    return {"identified": identified / max(1, known_n), "wrong_identity": wrong / max(1, known_n),
            "stranger_alerts": alerts / max(1, strangers), "known": known_n, "strangers": strangers}


def rule_name(rule: FusionRule | str) -> str:
    if isinstance(rule, str):
        return {"chip_avg": "aligned chips averaged (ECC), one embedding"}.get(rule, rule)
    keep = "all" if rule.keep is None else str(rule.keep)
    if rule == TODAY:
        return "before fusion: best-3 mean distance (weight^1)"
    if rule.chip_average and rule.chip_max_gain is not None:
        return (rule_name(replace(rule, chip_average=False, chip_max_gain=None))
                + f" or the averaged chip for the crops' nearest identity, by at most {rule.chip_max_gain:g}")
    if rule.chip_average:
        return rule_name(replace(rule, chip_average=False, chip_max_gain=None)) + " or the averaged chip, nearer"
    return {"best_k_distance": f"best-{keep} mean distance (weight^{rule.power:g})", "any_frame": "any frame matches",
            "mean": "plain mean of all embeddings",
            "pooled": f"pooled best-{keep}, weight^{rule.power:g}"}[rule.name]


def make_describe(embedder: str, student_weights: Path | None) -> tuple[Describe, str]:
    if embedder == "tf":
        return (lambda chips: describe_chips(chips, "tf")), "tf"
    from enhancement.student import build_student, describe_chips_student, load_student

    if student_weights is not None:
        model = build_student()
        model.load_weights(str(student_weights))  # research run: no manifest check
        import hashlib

        tag = "student-" + hashlib.sha256(student_weights.read_bytes()).hexdigest()[:10]
    else:
        model, tag = load_student(), "student"
    return (lambda chips: describe_chips_student(chips, model=model)), tag


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m research.track_fusion", description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=300, help="pairs per split (balanced, nested samples)")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--nmax", type=int, default=30, help="frames per combined track")
    ap.add_argument("--nmax-other", type=int, default=8, help="frames per track for the other degradations")
    ap.add_argument("--degradations", nargs="+", default=["combined", "blur", "x6", "low_light", "clean"])
    ap.add_argument("--embedder", choices=["tf", "student"], default="tf", help="probe embedder (gallery: teacher)")
    ap.add_argument("--student-weights", type=Path, help="weights for enhancement.student.build_student()")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--registration-limit", type=float, default=REGISTRATION_LIMIT,
                    help="the largest ECC shift the averaged chip trusts, as a fraction of the chip (0: no "
                         "registration); the product's is enhancement.fusion.REGISTRATION_LIMIT")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.0f} s] {msg}", flush=True)

    describe, tag = make_describe(args.embedder, args.student_weights)
    splits = {"train": select_pairs(balanced_dev_train(), args.pairs, args.seed),
              "test": select_pairs(lfw_pairs("pairsDevTest"), args.pairs, args.seed)}
    train_ids = {p.parent.name for a, b, _ in splits["train"] for p in (a, b)}
    test_ids = {p.parent.name for a, b, _ in splits["test"] for p in (a, b)}
    if train_ids & test_ids:
        raise SystemExit(f"pairsDevTrain and pairsDevTest share identities: {sorted(train_ids & test_ids)[:5]}")
    galleries = {s: gallery_vectors(p, args.cache / f"gallery_{s}_{len(p)}_{args.seed}.npy")
                 for s, p in splits.items()}
    data: dict[tuple[str, str], Tracks] = {}
    for deg in args.degradations:
        nmax = args.nmax if deg == "combined" else args.nmax_other
        for split, pairs in splits.items():
            reg = "" if args.registration_limit == REGISTRATION_LIMIT else f"_reg{args.registration_limit:g}"
            path = args.cache / f"{tag}_{split}_{deg}_{len(pairs)}_{nmax}_{args.seed}{reg}.npz"
            log(f"tracks {split} {deg} (N <= {nmax}){' from cache' if path.exists() else ''}")
            data[(split, deg)] = build_tracks(pairs, split, deg, nmax, args.seed, describe, path, log,
                                              args.registration_limit)
    embed_s = time.perf_counter() - t_start

    def lengths(deg: str) -> list[int]:
        return [n for n in TRACK_LENGTHS if n <= data[("test", deg)].vectors.shape[1]]

    def scores(split: str, deg: str, n: int, rule: FusionRule | str) -> tuple[np.ndarray, np.ndarray]:
        return split_scores(distance_matrix(galleries[split], data[(split, deg)], n, rule), splits[split])

    # Choose on pairsDevTrain only, by what the product does with a decision: the mean, over every degradation and
    # N >= 4, of TAR at FAR = 1 % and of the share of known tracks identified at the alert threshold; a rule whose
    # stranger-alert rate is, in any cell, above the worst of today's rule is out ("stranger false alerts must not
    # rise", issue 16).
    def alert_for(pairs: list[tuple[Path, Path, bool]]) -> float:
        """The product's alert threshold for this gallery's size, from the probe embedder's own calibration."""
        if args.embedder == "student":
            from .evaluate.identification import student_thresholds

            student = student_thresholds(enrolled_count(pairs))
            if student is None:
                raise SystemExit("the student has no calibration: run python -m research.calibrate_student")
            return student[1]
        return open_set_threshold(enrolled_count(pairs))

    alert_train = alert_for(splits["train"])
    grid = [FusionRule("pooled", keep, power) for keep in POOL_KEEP for power in POOL_POWER]
    distance_grid = [FusionRule("best_k_distance", keep, power) for keep in POOL_KEEP for power in POOL_POWER]
    # The same rules with the averaged chip as one more view (the nearer distance counts), and the chip alone.
    chip_grid = [replace(r, chip_average=True) for r in [*grid, *distance_grid, MEAN]]
    train: dict[FusionRule | str, dict[str, float]] = {}
    for rule in dict.fromkeys([*grid, *distance_grid, *chip_grid, TODAY, MEAN_DISTANCE, MEAN, ANY, "chip_avg"]):
        tars, ids, alerts = [], [], []
        for deg in args.degradations:
            for n in lengths(deg):
                if n < 4:
                    continue
                gen, imp = scores("train", deg, n, rule)
                tars.append(float(np.mean(gen < threshold_at_far(imp, FAR))))
                ident = identification(galleries["train"], data[("train", deg)], splits["train"], n, rule,
                                       alert_train)
                ids.append(ident["identified"])
                alerts.append(ident["stranger_alerts"])
        train[rule] = {"tar": float(np.mean(tars)), "identified": float(np.mean(ids)),
                       "max_stranger_alerts": float(np.max(alerts)),
                       "criterion": float(np.mean(tars) + np.mean(ids)) / 2}

    def rank(r: FusionRule | str) -> tuple[bool, float]:
        return (train[r]["max_stranger_alerts"] <= train[TODAY]["max_stranger_alerts"] + 1e-9,
                round(train[r]["criterion"], 6))

    chosen = max(grid, key=lambda r: round(train[r]["criterion"], 6))
    product = max([*grid, *distance_grid, MEAN, *chip_grid, "chip_avg"], key=rank)  # "any frame": measured only
    current = AnalysisConfig().fusion_rule
    log(f"chosen on pairsDevTrain: {rule_name(chosen)}; for the product: {rule_name(product)}")

    without_chip = replace(current, chip_average=False, chip_max_gain=None)
    rules: list[FusionRule | str] = list(dict.fromkeys([TODAY, ANY, MEAN_DISTANCE, MEAN, chosen, without_chip,
                                                        product, current, "chip_avg"]))
    alert_threshold = alert_for(splits["test"])
    rows: list[dict[str, Any]] = []
    for deg in args.degradations:
        single_threshold = None
        for n in lengths(deg):
            for rule in rules:
                gen_tr, imp_tr = scores("train", deg, n, rule)
                thr = threshold_at_far(imp_tr, FAR)
                gen, imp = scores("test", deg, n, rule)
                row = {"degradation": deg, "frames": n, "rule": rule_name(rule), "threshold": round(thr, 4),
                       "tar": round(float(np.mean(gen < thr)), 4), "far": round(float(np.mean(imp < thr)), 4)}
                if rule == TODAY and n == 1:
                    single_threshold = thr
                if rule == ANY and single_threshold is not None:  # the naive loop: the single-frame threshold
                    row["tar_at_single_frame_threshold"] = round(float(np.mean(gen < single_threshold)), 4)
                    row["far_at_single_frame_threshold"] = round(float(np.mean(imp < single_threshold)), 4)
                ident = identification(galleries["test"], data[("test", deg)], splits["test"], n, rule,
                                       alert_threshold)
                row.update({f"id_{k}": (round(v, 4) if isinstance(v, float) else v) for k, v in ident.items()})
                rows.append(row)
    strangers = identification(galleries["train"], data[("train", args.degradations[0])], splits["train"], 1, TODAY,
                               alert_train)["strangers"]
    write(args, rows, chosen, product, train, int(strangers), tag, embed_s, time.perf_counter() - t_start, splits,
          current, alert_threshold)
    log(f"wrote {args.out / 'track_fusion.md'}")


def write(args: argparse.Namespace, rows: list[dict[str, Any]], chosen: FusionRule, product: FusionRule | str,
          train: dict[FusionRule | str, dict[str, float]], strangers_train: int, tag: str, embed_s: float,
          total_s: float, splits: dict[str, list], current: FusionRule, alert_threshold: float) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    fields = sorted({k for r in rows for k in r}, key=lambda k: list(rows[-1]).index(k) if k in rows[-1] else 99)
    with (args.out / "track_fusion.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    names = list(dict.fromkeys(r["rule"] for r in rows))
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731
    cmd = "python -m research.track_fusion" + (f" --pairs {args.pairs}" if args.pairs != 300 else "") + (
        f" --embedder {args.embedder}" if args.embedder != "tf" else "") + (
        f" --student-weights {args.student_weights}" if args.student_weights else "") + (
        f" --nmax {args.nmax}" if args.nmax != 30 else "") + (
        f" --nmax-other {args.nmax_other}" if args.nmax_other != 8 else "")
    lines = [
        "# Track-level fusion: many poor frames, one decision",
        "",
        f"Generated by `{cmd}` (seed {args.seed}) in {total_s / 60:.1f} min ({embed_s / 60:.1f} min building and "
        f"embedding tracks, cached under `runs/track_fusion/`). Probe embedder: `{tag}`; gallery: the teacher (dlib's "
        "network, TF port) on the clean image. Protocol and definitions: the docstring of `research/track_fusion.py`.",
        "",
        f"- {len(splits['test'])} LFW `pairsDevTest` pairs (report), {len(splits['train'])} `pairsDevTrain` pairs "
        "(thresholds at FAR = 1 % and the pooled rule's parameters), disjoint identities (checked at the start).",
        "- A track: N frames of the probe image, each shifted by a random sub-pixel amount and degraded with its own "
        "seed (own blur kernel, noise and gain); N = 1, 4, 8 are the first frames of the same track.",
        "- Chosen on pairsDevTrain (last table): the pooled rule's parameters, **" + rule_name(chosen) + "** (best "
        "criterion), and the rule for the product, **" + rule_name(product) + "** (best criterion among the pooled and "
        "mean-distance grids, the plain mean, each of them with the averaged chip as one more view, and the averaged "
        "chip alone, whose stranger alerts do not exceed, in any cell, the worst of the rule used before fusion; "
        "\"any frame\" is measured, not a candidate). The product's rule when this ran: **"
        + rule_name(current) + "**.",
        "- The averaged chip: the track's aligned 150x150 chips registered to the best one by ECC (translation) and "
        "averaged with quality weights (`enhancement.fusion.average_chips`), then embedded once; with N = 30 it "
        "averages all 30 frames. "
        + ("ECC shifts trusted up to the product's limit (" + f"{REGISTRATION_LIMIT:g}" + " of the chip's width)."
           if args.registration_limit == REGISTRATION_LIMIT else
           "**This run: no registration** (`--registration-limit 0`), the landmarks' alignment only."
           if args.registration_limit <= 0 else
           f"**This run: ECC shifts trusted up to {args.registration_limit:g} of the chip's width** "
           "(`--registration-limit`)."),
        "",
        "## TAR at FAR = 1 % (%), threshold from pairsDevTrain; FAR reached on pairsDevTest in brackets",
        "",
    ]
    for deg in dict.fromkeys(r["degradation"] for r in rows):
        ns = sorted({r["frames"] for r in rows if r["degradation"] == deg})
        lines += [f"### {deg}", "", "| rule | " + " | ".join(f"N = {n}" for n in ns) + " |",
                  "|---|" + "---|" * len(ns)]
        for name in names:
            cells = []
            for n in ns:
                r = next(r for r in rows if r["degradation"] == deg and r["frames"] == n and r["rule"] == name)
                cells.append(f"{pct(r['tar'])} ({pct(r['far'])})")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        anyr = [r for r in rows if r["degradation"] == deg and r["rule"] == rule_name(ANY)
                and "tar_at_single_frame_threshold" in r]
        if anyr:
            lines.append("| any frame, at the single-frame threshold (the naive loop) | " + " | ".join(
                f"{pct(r['tar_at_single_frame_threshold'])} ({pct(r['far_at_single_frame_threshold'])})"
                for r in anyr) + " |")
        lines.append("")
    enrolled = enrolled_count(splits["test"])
    lines += [f"## Identification, {enrolled} people enrolled, at the analysis' alert threshold for that gallery "
              f"({alert_threshold:.4f}, the probe embedder's own calibration): identified / wrong identity / "
              "stranger alerts (%)", ""]
    ident_rows = [r for r in rows if r["frames"] in (1, 8, 30)]
    example = ident_rows[0] if ident_rows else None
    if example:
        lines.append(f"{example['id_known']} known tracks (enrolled: the A image of each same-person pair), "
                     f"{example['id_strangers']} stranger tracks (people not enrolled).")
        lines.append("")
    lines += ["| degradation | N | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for deg in dict.fromkeys(r["degradation"] for r in rows):
        for n in sorted({r["frames"] for r in ident_rows if r["degradation"] == deg}):
            cells = []
            for name in names:
                r = next(r for r in rows if r["degradation"] == deg and r["frames"] == n and r["rule"] == name)
                cells.append(f"{pct(r['id_identified'])} / {pct(r['id_wrong_identity'])} / "
                             f"{pct(r['id_stranger_alerts'])}")
            lines.append(f"| {deg} | {n} | " + " | ".join(cells) + " |")
    lines += ["", "## The choice, on pairsDevTrain only (means over every degradation and N >= 4)", "",
              "Criterion: (TAR at FAR = 1 % + identified at the alert threshold) / 2. Worst stranger-alert rate: "
              f"the largest over the cells (pairsDevTrain has {strangers_train} stranger tracks per cell, so one alert "
              f"is {100 / max(1, strangers_train):.1f} %).", "",
              "| rule | TAR at FAR 1 % | identified | worst stranger-alert rate | criterion |", "|---|---|---|---|---|"]
    for rule, t in sorted(train.items(), key=lambda kv: -kv[1]["criterion"]):
        lines.append(f"| {rule_name(rule)} | {pct(t['tar'])} | {pct(t['identified'])} | "
                     f"{pct(t['max_stranger_alerts'])} | {pct(t['criterion'])} |")
    lines.append("")
    (args.out / "track_fusion.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()

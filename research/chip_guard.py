"""How much say the averaged chip gets in a track's decision: guards chosen on pairsDevTrain synthetic tracks.

Run: ``python -m research.chip_guard [--pairs 820] [--cache runs/track_fusion]`` (with the cache of
``research.track_fusion --pairs 820 --nmax 8 --nmax-other 8`` present, ~1 min; building it ~15 min on 2 cores,
which this command does itself when the cache is missing); writes ``docs/evaluation/chip_guard.md``. With
``--split test --pairs 300`` the same counts on pairsDevTest tracks (the report's pairs, held out: nothing is chosen
there), written to ``docs/evaluation/chip_guard_heldout.md``.

Why: the averaged chip (``enhancement.fusion.average_chips``) cancels each frame's own noise, but keeps whatever the
frames share, and the nearer of its distance and the crops' counted for every identity. A track can then be named as
someone its crops are far from. Guards compared, each a way of combining the crops' distances ``Dc`` and the chip's
``Dh`` (one per identity):

- ungated: ``min(Dc, Dh)`` for every identity (the product until 2026-12-02);
- (a) top-1: the chip may lower only the identity the crops are nearest to;
- (c) the chip counts only where ``Dc`` < threshold + m;
- (d) the chip lowers any identity by at most g: ``max(min(Dc, Dh), Dc - g)``;
- (a)+(d): both, ``enhancement.fusion.combine_views`` with ``FusionRule.chip_max_gain = g`` (what the product runs).

Protocol (``research.track_fusion.identification``): the gallery is the teacher's embedding of the first image of
each same pair's identity; the probes are tracks of N = 4 and 8 independently degraded frames of the pairs' second
images (blur, x6, low light, combined, clean), known when their identity is enrolled, strangers otherwise; decisions
at the alert threshold the footage analysis uses for that gallery size. Counted over the 10 cells: known tracks
identified, known tracks named as someone else (wrong), stranger tracks that alert, and leave-own-out alerts: every
known track decided again with its own identity removed from the gallery, which turns each of them into a stranger
(the balanced pairs hold few real strangers, so this is where a guard's false alerts show).

Selection: the strict rule, every count (wrong, stranger alerts, leave-own-out alerts) no higher than without the
averaged chip, admits no guard on the 820 pairs: every way of letting the chip speak adds a few leave-own-out alerts.
The rule used: no more wrong identities than without the chip, fewer leave-own-out alerts than the ungated chip, and
among those the most known tracks identified (ties: the smaller gain bound). Both rules are in the output. Only
pairsDevTrain is used; nothing the report evaluates.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from enhancement.analysis import AnalysisConfig
from enhancement.datasets import REPO_ROOT, lfw_pairs
from enhancement.fusion import FusionRule, combine_views, track_distances
from enhancement.match import open_set_threshold

from . import track_fusion as tf
from .calibrate_matcher import balanced_dev_train
from .evaluate.verification import select_pairs

OUT = REPO_ROOT / "docs" / "evaluation" / "chip_guard.md"
DEGRADATIONS = ("combined", "blur", "x6", "low_light", "clean")
NS = (4, 8)
GAINS = tuple(round(0.01 * i, 2) for i in range(1, 16))
Guard = Callable[[np.ndarray, np.ndarray, float], np.ndarray]  # (Dc, Dh, threshold) -> (M,) distances


def guards() -> dict[str, tuple[Guard, float | None]]:
    """Name -> (guard, its gain bound g where it has one)."""
    found: dict[str, tuple[Guard, float | None]] = {
        "without the averaged chip": (lambda dc, dh, thr: dc, None),
        "ungated: the nearer view for every identity": (lambda dc, dh, thr: np.minimum(dc, dh), None),
        # (a) is (a)+(d) with no bound on the gain
        "(a) only the crops' nearest identity": (
            lambda dc, dh, thr, rule=FusionRule(chip_average=True, chip_max_gain=np.inf): combine_views(dc, dh, rule),
            None),
    }
    for m in (0.02, 0.05, 0.08, 0.1):
        found[f"(c) only where the crops are under threshold + {m:g}"] = (
            lambda dc, dh, thr, m=m: np.where(dc < thr + m, np.minimum(dc, dh), dc), None)
    for g in GAINS:
        found[f"(d) any identity, by at most {g:g}"] = (
            lambda dc, dh, thr, g=g: np.maximum(np.minimum(dc, dh), dc - g), g)
    for g in GAINS:
        rule = FusionRule("best_k_distance", 3, 4.0, chip_average=True, chip_max_gain=g)
        found[f"(a)+(d) the crops' nearest, by at most {g:g}"] = (
            lambda dc, dh, thr, rule=rule: combine_views(dc, dh, rule), g)
    return found


def count(pairs: list, gallery: np.ndarray, data: dict[str, tf.Tracks], rule: FusionRule,
          threshold: float) -> dict[str, dict[str, int]]:
    same = np.array([s for _, _, s in pairs])
    enrolled = np.flatnonzero(same)
    labels = np.array([pairs[i][0].parent.name for i in enrolled])
    known_names = set(labels)
    probes = [j for j in range(len(pairs)) if same[j] or pairs[j][1].parent.name not in known_names]
    g = gallery[enrolled]
    crops_rule = FusionRule(rule.name, rule.keep, rule.power)
    table = guards()
    totals = {name: {"identified": 0, "wrong": 0, "alerts": 0, "loo": 0, "known": 0, "strangers": 0}
              for name in table}
    for tracks in data.values():
        lengths = list(tracks.chip_lengths)
        for n in NS:
            for j in probes:
                truth = pairs[j][1].parent.name
                known = truth in known_names
                dc = track_distances(g, tracks.vectors[j, :n], tracks.weights[j, :n], crops_rule)
                chip = tracks.chip_avg[j, lengths.index(n)].astype(np.float64)
                dh = np.linalg.norm(g - chip, axis=1)
                for name, (guard, _) in table.items():
                    t = totals[name]
                    d = guard(dc, dh, threshold)
                    k = int(np.argmin(d))
                    named = labels[k] if d[k] < threshold else None
                    if known:
                        t["known"] += 1
                        t["identified"] += named == truth
                        t["wrong"] += named is not None and named != truth
                        own = labels == truth
                        d_loo = guard(dc[~own], dh[~own], threshold)  # the same track, its identity not enrolled
                        t["loo"] += bool(d_loo.min() < threshold)
                    else:
                        t["strangers"] += 1
                        t["alerts"] += named is not None
    return totals


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m research.chip_guard", description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=820, help="balanced pairsDevTrain pairs (820: all of them)")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--cache", type=Path, default=tf.CACHE)
    ap.add_argument("--split", choices=["train", "test"], default="train",
                    help="train: pairsDevTrain, where the guard is chosen; test: pairsDevTest, held out, reported only")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    held_out = args.split == "test"
    out = args.out or (OUT.with_name("chip_guard_heldout.md") if held_out else OUT)
    pairs = select_pairs(lfw_pairs("pairsDevTest") if held_out else balanced_dev_train(), args.pairs, args.seed)
    describe, tag = tf.make_describe("tf", None)
    args.cache.mkdir(parents=True, exist_ok=True)
    gallery = tf.gallery_vectors(pairs, args.cache / f"gallery_{args.split}_{len(pairs)}_{args.seed}.npy")
    data = {}
    for deg in DEGRADATIONS:
        path = args.cache / f"{tag}_{args.split}_{deg}_{len(pairs)}_{max(NS)}_{args.seed}.npz"
        data[deg] = tf.build_tracks(pairs, args.split, deg, max(NS), args.seed, describe, path, print)
    product = AnalysisConfig().fusion_rule
    threshold = open_set_threshold(tf.enrolled_count(pairs))
    totals = count(pairs, gallery, data, product, threshold)
    base = totals["without the averaged chip"]
    table = guards()
    ungated = totals["ungated: the nearer view for every identity"]
    strict = [n for n, t in totals.items() if n != "without the averaged chip" and all(
        t[k] <= base[k] for k in ("wrong", "alerts", "loo"))]
    eligible = [n for n, t in totals.items() if n != "without the averaged chip" and t["wrong"] <= base["wrong"]
                and t["alerts"] <= base["alerts"] and t["loo"] < ungated["loo"]]
    chosen = max(eligible, key=lambda n: (totals[n]["identified"], -(table[n][1] or 0.0))) if eligible else None
    ex = next(iter(totals.values()))
    command = f"python -m research.chip_guard --pairs {args.pairs}" + (" --split test" if held_out else "")
    lines = [
        "# The averaged chip's guards on held-out pairsDevTest tracks (reported only; chosen on pairsDevTrain)"
        if held_out else "# How much say the averaged chip gets: guards chosen on pairsDevTrain",
        "",
        f"Generated by `{command}` in {(time.perf_counter() - t0) / 60:.1f} "
        "min. Method and selection rule: the docstring of `research/chip_guard.py`.",
        "",
        f"- {args.pairs} {'pairsDevTest' if held_out else 'balanced pairsDevTrain'} pairs; crops' rule "
        f"{product.name} best-{product.keep}, "
        f"weight^{product.power:g}; averaged chip of the N frames; N = {', '.join(map(str, NS))}; "
        f"{', '.join(DEGRADATIONS)}; alert threshold {threshold:.4f}.",
        f"- Over the {len(DEGRADATIONS) * len(NS)} cells: {ex['known']} known tracks, {ex['strangers']} stranger "
        "tracks.",
        "",
        "| guard | identified | wrong | stranger alerts | leave-own-out alerts | eligible |",
        "|---|---|---|---|---|---|",
    ]
    if held_out:  # nothing is chosen on the held-out split: no eligibility column
        lines[-2:] = ["| guard | identified | wrong | stranger alerts | leave-own-out alerts |",
                      "|---|---|---|---|---|"]
    for name, t in totals.items():
        if held_out:
            lines.append(f"| {name} | {t['identified']} | {t['wrong']} | {t['alerts']} | {t['loo']} |")
            continue
        mark = "**chosen**" if name == chosen else ("yes" if name in eligible else "")
        lines.append(f"| {name} | {t['identified']} | {t['wrong']} | {t['alerts']} | {t['loo']} | {mark} |")
    known = ex["known"]
    if held_out:
        product_row = next(n for n, (_, g) in table.items() if n.startswith("(a)+(d)")
                           and g == AnalysisConfig().chip_max_gain)
        lines += ["", f"The product's guard ({product_row}): identified {totals[product_row]['identified']}, wrong "
                  f"{totals[product_row]['wrong']}, stranger alerts {totals[product_row]['alerts']}, leave-own-out "
                  f"{totals[product_row]['loo']} ({100 * totals[product_row]['loo'] / known:.2f} %); ungated "
                  f"{ungated['identified']} / {ungated['wrong']} / {ungated['alerts']} / {ungated['loo']}; without the "
                  f"chip {base['identified']} / {base['wrong']} / {base['alerts']} / {base['loo']}."]
        out.write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    lines += ["", f"Strict rule (every count at or below the rule without the chip): "
              f"{', '.join(strict) if strict else 'no guard qualifies'}.",
              f"Rule used (no more wrong identities than without the chip, fewer leave-own-out alerts than the ungated "
              f"chip, then the most identified): **{chosen or 'none'}**. Leave-own-out alert rate: "
              + (f"{100 * totals[chosen]['loo'] / known:.2f} % for it, " if chosen else "")
              + f"{100 * base['loo'] / known:.2f} % without the chip, {100 * ungated['loo'] / known:.2f} % ungated.",
              "", f"The product runs `AnalysisConfig.chip_max_gain = {AnalysisConfig().chip_max_gain}`."]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

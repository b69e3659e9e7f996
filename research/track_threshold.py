"""Would an alert threshold calibrated for the *fused* track decision identify more people at the same stranger rate?

    python -m research.track_threshold [--pairs 500] [--train-pairs 300] [--seed 20261127]

The product fuses a track's frames (``AnalysisConfig().fusion_rule``) and then holds the fused distance to the
single-frame open-set threshold (``enhancement.match.open_set_threshold`` for the registry's size). A fused
distance averages several frames, so a stranger's fused distance varies less than one frame's, and that threshold
may be stricter than it needs to be. Here, for each track length N, the threshold that lets a share
``1 - (1 - 1 %) ** (1 / enrolled)`` of pairsDevTrain *fused* impostor comparisons through is read

- pooled over the degradations (what a product could use: it does not know how a face was degraded), and
- per degradation (for orientation only),

and applied to the pairsDevTest tracks of the evaluation's Tracks section (same tracks, same cache:
``research/evaluate/tracks.py``); identification is counted as there (known tracks identified, wrong identities,
stranger tracks alerting). Never tuned on pairsDevTest. Writes ``docs/evaluation/track_threshold.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from enhancement.analysis.config import AnalysisConfig
from enhancement.datasets import REPO_ROOT, lfw_pairs
from enhancement.match import DEFAULT_THRESHOLD, open_set_threshold

from . import track_fusion as tf_
from .evaluate.tracks import DEGRADATIONS, LENGTHS, load_tracks, tracks_cache_dir
from .evaluate.verification import select_pairs

OUT = REPO_ROOT / "docs" / "evaluation" / "track_threshold.md"
FALSE_ALERT_RATE = 0.01


def describers() -> tuple[dict[str, Any], str | None]:
    """The embedders of the evaluation's Tracks section (both, so the cache it wrote is found)."""
    from enhancement.embed import describe_chips
    from enhancement.student import describe_chips_student, load_student
    from enhancement.weights import WeightsError

    from .evaluate.cache import student_tag

    out: dict[str, Any] = {"teacher": lambda chips: describe_chips(chips, "tf")}
    try:
        tag = student_tag()
    except (KeyError, WeightsError):
        return out, None
    out["student"] = lambda chips: describe_chips_student(chips, model=load_student())
    return out, tag


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m research.track_threshold", description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=500, help="pairsDevTest pairs (the Tracks section's 500)")
    ap.add_argument("--train-pairs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--cache", type=Path, default=REPO_ROOT / "runs" / "evaluation_cache")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    from tqdm import tqdm

    describe, student_tag = describers()
    test_pairs = select_pairs(lfw_pairs("pairsDevTest"), 1000, args.seed)[:args.pairs]
    nmax = max(LENGTHS)
    bar = tqdm(total=len(DEGRADATIONS) * (args.pairs + args.train_pairs) * nmax, desc="tracks", file=sys.stderr)
    loaded = load_tracks(test_pairs, DEGRADATIONS, describe, args.seed, tracks_cache_dir(args.cache, student_tag),
                         bar, nmax, args.train_pairs)
    bar.close()
    splits, galleries, built = loaded.splits, loaded.galleries, loaded.frames_built
    data = {(split, deg): loaded.tracks(split, deg, "teacher") for split in splits for deg in DEGRADATIONS}
    rule = AnalysisConfig().fusion_rule
    enrolled = tf_.enrolled_count(splits["test"])
    share = 1.0 - (1.0 - FALSE_ALERT_RATE) ** (1.0 / enrolled)
    single = open_set_threshold(enrolled)
    rows = []
    for n in LENGTHS:
        impostors = {deg: tf_.split_scores(tf_.distance_matrix(galleries["train"], data[("train", deg)], n, rule),
                                           splits["train"])[1] for deg in DEGRADATIONS}
        pooled = min(DEFAULT_THRESHOLD, float(np.quantile(np.concatenate(list(impostors.values())), share)))
        for deg in DEGRADATIONS:
            own = min(DEFAULT_THRESHOLD, float(np.quantile(impostors[deg], share)))
            row: dict[str, Any] = {"degradation": deg, "frames": n}
            for name, threshold in (("single", single), ("pooled", pooled), ("own", own)):
                ident = tf_.identification(galleries["test"], data[("test", deg)], splits["test"], n, rule, threshold)
                row[name] = (threshold, ident)
            rows.append(row)
    write(args, rows, enrolled, share, sum(len(v) for v in impostors.values()), time.perf_counter() - t0, built)
    print(args.out.read_text())


def write(args: argparse.Namespace, rows: list[dict[str, Any]], enrolled: int, share: float, impostors: int,
          seconds: float, built: int) -> None:
    example = rows[0]["single"][1]
    cell = lambda t, i: (f"{t:.3f}: {100 * i['identified']:.1f} / {100 * i['wrong_identity']:.1f} / "  # noqa: E731
                         f"{100 * i['stranger_alerts']:.1f}")
    cmd = "python -m research.track_threshold" + (f" --pairs {args.pairs}" if args.pairs != 500 else "")
    lines = [
        "# A threshold for the fused track decision",
        "",
        f"Generated by `{cmd}` (seed {args.seed}) in {seconds / 60:.1f} min ("
        + (f"{built} track frames built and embedded" if built else "every track read from the evaluation's cache")
        + "); the question and the method are in the "
        "docstring of `research/track_threshold.py`. Tracks: those of the evaluation's Tracks section "
        f"({args.pairs} pairsDevTest pairs, {args.train_pairs} pairsDevTrain pairs; dlib's network, the product's "
        f"fusion rule `{AnalysisConfig().fusion_rule}`).",
        "",
        f"{enrolled} people enrolled; {example['known']} known tracks, {example['strangers']} stranger tracks. The "
        f"share of impostor comparisons each threshold lets through on pairsDevTrain: {share:.2e} (1 % of strangers "
        f"for {enrolled} people, as `open_set_threshold` assumes); pooled over the three degradations that is "
        f"about {share * impostors:.0f} of {impostors:,} comparisons, so these thresholds carry sampling noise.",
        "",
        "Each cell: threshold: identified / wrong identity / stranger alerts (%), on pairsDevTest.",
        "",
        "| degradation | N | today: single-frame open-set threshold | pooled over degradations (pairsDevTrain) | "
        "per degradation (pairsDevTrain; orientation) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['degradation']} | {r['frames']} | {cell(*r['single'])} | {cell(*r['pooled'])} | "
                     f"{cell(*r['own'])} |")
    lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()

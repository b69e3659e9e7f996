"""Is the open-set decision rule what keeps identification under the issue's 90 %? Alternatives to the nearest
distance, scored on the evaluation report's identification set.

    python -m research.open_set_rules [--out docs/evaluation/open_set_rules.md]

The report identifies 80 % of known clean probes with no stranger alerting (100 enrolled identities, 100 known and
100 stranger probes; threshold 0.469 from ``match.open_set_threshold``), and its oracle column, the threshold set on
the strangers themselves, 87 %. The target is 90 % with at most 1 % of strangers. This script asks whether another
*score* separates known people from strangers better than the distance to the nearest enrolled photo:

- ``nearest``: the product's score, distance to the identity's nearest enrolled photo (lower is better);
- ``tnorm-k``: cohort (test) normalisation: (mean - d) / std of the probe's distances to its ``k`` nearest cohort
  faces (all with ``k=all``), so a probe that is close to everyone, as a degraded one is, is judged against that;
- ``cohort rank``: how many cohort faces are closer to the probe than the enrolled photo is;
- ``d1 - a d2``: the nearest identity's distance minus ``a`` times the second nearest's (a ratio-test margin);
- ``mean template``: distance to the mean of each identity's enrolled descriptors;
- ``teacher+student w``: for the student embedder, ``w`` x student distance + (1 - w) x dlib distance.

Cohort: dlib's descriptors of the student trainer's face set (``research.train_student``'s cache: the 278 LFW
*train*-split identities and the UTKFace pool; never an evaluation identity; built on first use, ~5 min).

The figure for each rule is an **oracle**, as the report's last identification column: the share of known probes
identified (right name, score past the cut) when the cut is set on the 100 strangers so that none (or one) alert.
It compares how well each score *separates* the two groups; it is not an operating point, and nothing here is chosen
for the product (choosing on these probes would tune on the evaluation set). Embeddings come from the evaluation's
cache (``runs/evaluation_cache``): after a report run this script embeds nothing new.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from enhancement.datasets import REPO_ROOT

CONDITIONS = ("clean", "x6", "low_light", "blur", "combined")


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def per_identity(d: np.ndarray, labels: np.ndarray, identities: list[str]) -> np.ndarray:
    """(probes, identities): the distance to each identity's nearest enrolled photo."""
    return np.stack([d[:, labels == i].min(1) for i in identities], 1)


def oracle_identified(known: np.ndarray, unknown: np.ndarray, truth_index: np.ndarray, allowed: int) -> float:
    """Scores (higher is better), one column per identity. The cut lets ``allowed`` strangers through; the share of
    known probes whose best identity is the right one and scores above the cut."""
    best, top = known.argmax(1), known.max(1)
    strangers = np.sort(unknown.max(1))[::-1]
    cut = strangers[min(allowed, len(strangers) - 1)]
    return float(np.mean((best == truth_index) & (top > cut)))


def tnorm(k: int | None) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def score(d: np.ndarray, cohort_d: np.ndarray) -> np.ndarray:
        near = np.sort(cohort_d, 1)[:, :k] if k else cohort_d
        return (near.mean(1, keepdims=True) - d) / near.std(1, keepdims=True)
    return score


def cohort_rank(d: np.ndarray, cohort_d: np.ndarray) -> np.ndarray:
    ordered = np.sort(cohort_d, 1)
    closer = np.stack([np.searchsorted(ordered[i], d[i]) for i in range(len(d))])
    return -(closer + 1e-3 * d)  # ties broken by the distance itself


def margin(a: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def score(d: np.ndarray, cohort_d: np.ndarray) -> np.ndarray:
        second = np.sort(d, 1)[:, 1:2]
        return -(d - a * second)
    return score


def cohort_descriptors() -> np.ndarray:
    from .train_student import load_faces

    return np.asarray(load_faces("train", lambda m: print(m, file=sys.stderr)).teacher, dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "evaluation" / "open_set_rules.md")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--cache", type=Path, default=REPO_ROOT / "runs" / "evaluation_cache")
    args = ap.parse_args(argv)

    from enhancement.embed import embed_face
    from enhancement.student import load_student

    from .evaluate.cache import EmbeddingCache, code_tag, student_tag
    from .evaluate.identification import _embed_probe, build_set, enrolment_vectors

    tag = code_tag("enhancement.embed", "enhancement.embed_tf")
    load_student()
    cache = EmbeddingCache(args.cache / f"embeddings-{tag}.npz", lambda im, box: embed_face(im, box=box, backend="tf"),
                           others={"student": lambda im, box: embed_face(im, box=box, backend="student")},
                           tags={"student": student_tag()})
    ident = build_set(100, 1, args.seed)
    gallery, labels = enrolment_vectors(ident, cache)
    labels_arr = np.asarray(labels)
    identities = sorted(set(labels))
    truth = np.array([identities.index(p.parent.name) for p in ident.known])
    templates = np.stack([gallery[labels_arr == i].mean(0) for i in identities])
    cohort = cohort_descriptors()

    rules: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {"nearest": lambda d, c: -d}
    for k in (50, 200, 1000, None):
        rules[f"tnorm-{k or 'all'}"] = tnorm(k)
    rules["cohort rank"] = cohort_rank
    for a in (0.3, 0.5, 1.0):
        rules[f"d1 - {a} d2"] = margin(a)

    table: list[tuple[str, str, str, float, float]] = []
    for condition in CONDITIONS:
        vecs, nearest = {}, {}
        for variant in ("raw", "student"):
            vecs[variant] = tuple(np.stack([_embed_probe(p, offset + i, condition, variant, cache, args.seed)
                                            for i, p in enumerate(paths)])
                                  for offset, paths in ((0, ident.known), (5_000, ident.unknown)))
        for variant, embedder in (("raw", "dlib"), ("student", "student")):
            known, unknown = vecs[variant]
            dk, du = nearest[variant] = tuple(per_identity(distances(v, gallery), labels_arr, identities)
                                              for v in (known, unknown))
            ck, cu = distances(known, cohort), distances(unknown, cohort)
            for name, rule in rules.items():
                sk, su = rule(dk, ck), rule(du, cu)
                table.append((condition, embedder, name, oracle_identified(sk, su, truth, 0),
                              oracle_identified(sk, su, truth, 1)))
            tk, tu = -distances(known, templates), -distances(unknown, templates)
            table.append((condition, embedder, "mean template", oracle_identified(tk, tu, truth, 0),
                          oracle_identified(tk, tu, truth, 1)))
        dt, ds = nearest["raw"], nearest["student"]
        for w in (0.3, 0.5, 0.7):
            fk, fu = -(w * ds[0] + (1 - w) * dt[0]), -(w * ds[1] + (1 - w) * dt[1])
            table.append((condition, "both", f"teacher+student {w}", oracle_identified(fk, fu, truth, 0),
                          oracle_identified(fk, fu, truth, 1)))
        print(condition, file=sys.stderr)
    cache.save()

    columns = list(dict.fromkeys(r[2] for r in table))
    lines = ["# Open-set decision rules: does another score separate known people from strangers?", "",
             f"Generated by `python -m research.open_set_rules` (seed {args.seed}); the question, the rules and the "
             "cohort are in the docstring of `research/open_set_rules.py`. Set: the report's identification section "
             f"({len(identities)} enrolled identities, {len(gallery)} clean enrolment photos, {len(ident.known)} known "
             f"and {len(ident.unknown)} stranger probes); {len(cohort)} cohort faces.", "",
             "Oracle identification (%): known probes identified when the cut is set on these strangers so that "
             "none / one of 100 alert. For comparing scores only; nothing here sets a product threshold.", "",
             "| probe | embedder | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for condition in CONDITIONS:
        for embedder in ("dlib", "student", "both"):
            cells = {r[2]: f"{r[3] * 100:.0f} / {r[4] * 100:.0f}" for r in table if r[:2] == (condition, embedder)}
            if cells:
                lines.append(f"| {condition} | {embedder} | "
                             + " | ".join(cells.get(n, "") for n in columns) + " |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How well a probe embedder identifies degraded validation faces, as matching uses it: probe = the embedder's
descriptor of a degraded face, gallery = dlib's descriptors of the *other* clean photos of the validation set.

    python -m research.student_val [--weights PATH ...] [--out FILE.json]

Distillation distances alone (``research.train_student``'s validation) cannot tell a student that brings a degraded
face nearer to its own identity from one that brings it nearer to everyone; this scores identity. On the 217 faces
of the 20 validation-split identities (LFW View 1 ``peopleDevTrain`` val split, never a ``pairsDevTest`` identity),
with the trainer's fixed validation degradations, for each degradation:

- ``tar1``: the share of genuine (probe, other photo of the same person) pairs accepted at the threshold that lets
  1 % of impostor (probe, photo of another person) pairs through, the threshold read on this set itself (a
  separability score for comparing checkpoints, not a calibrated operating point);
- ``rank1``: the share of probes whose nearest gallery photo (their own excluded) is of the same person;
- ``own``: mean distance to the probe's own clean descriptor (what distillation minimises).

Row ``dlib`` is the teacher itself (the student's architecture with dlib's weights); each ``--weights`` file is a
student checkpoint (``runs/student/<run>/best.weights.h5`` or ``last.weights.h5``, or the shipped weights).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np


def identity_scores(pred: np.ndarray, teacher: np.ndarray, labels: list[str]) -> dict[str, float]:
    """``pred``: probe descriptors (N, 128); ``teacher``: clean gallery descriptors of the same N faces; ``labels``:
    each face's identity. A face is never compared with its own clean photo."""
    lab = np.asarray(labels)
    d = np.linalg.norm(pred[:, None, :] - teacher[None, :, :], axis=2)
    same = lab[:, None] == lab[None, :]
    np.fill_diagonal(same, False)
    other = ~same
    np.fill_diagonal(other, False)
    impostor, genuine = d[other], d[same]
    threshold = float(np.quantile(impostor, 0.01))
    masked = d.copy()
    np.fill_diagonal(masked, np.inf)
    nearest = masked.argmin(axis=1)
    has_genuine = same.any(axis=1)
    return {
        "tar1": round(float((genuine <= threshold).mean()), 4) if genuine.size else float("nan"),
        "rank1": round(float((lab[nearest] == lab)[has_genuine].mean()), 4),
        "own": round(float(np.linalg.norm(pred - teacher, axis=1).mean()), 4),
    }


def labels_of(paths: list[str]) -> list[str]:
    return [Path(p).parent.name for p in paths]


def describe(model: Any, chips: np.ndarray, batch: int = 64) -> np.ndarray:
    """The Keras model's descriptors of ``chips``, ``batch`` at a time (inference mode)."""
    return np.concatenate([np.asarray(model(chips[i:i + batch], training=False)) for i in range(0, len(chips), batch)])


def score_model(model: Any, sets: dict[str, tuple[np.ndarray, np.ndarray]], labels: list[str]) -> dict[str, Any]:
    return {name: identity_scores(describe(model, chips), target, labels) for name, (chips, target) in sets.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="*", default=[], type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    from enhancement.student import build_student

    from . import student_data as sd
    from .train_student import load_faces, validation_set

    faces = load_faces("val", print)
    labels = labels_of(faces.paths)
    sets = validation_set(faces, sd.training_kernels(200, sd.VAL_KERNEL_SEED))
    rows: dict[str, Any] = {"dlib": score_model(build_student(), sets, labels)}
    for path in args.weights:
        model = build_student()
        model.load_weights(str(path))
        rows[str(path)] = score_model(model, sets, labels)
    names = list(sets)
    print(f"{len(faces.paths)} validation faces, {len(set(labels))} identities")
    print("| embedder | " + " | ".join(f"{n} TAR@1% / rank-1 / own" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for row, scores in rows.items():
        cells = [f"{scores[n]['tar1']:.3f} / {scores[n]['rank1']:.3f} / {scores[n]['own']:.3f}" for n in names]
        print(f"| {row} | " + " | ".join(cells) + " |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

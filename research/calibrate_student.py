"""Calibrate the matcher for student probes: ``python -m research.calibrate_student [--out FILE]``.

Gallery side: dlib's network (the teacher) on the clean enrolled image, as enrolment does. Probe side: the
degradation-robust student (``enhancement.student``) on the probe crop. All thresholds are read on LFW View 1
``pairsDevTrain`` (balanced as in ``research.calibrate_matcher``); ``pairsDevTest`` figures are reported, never
used to choose anything.

- ``threshold``: best verification accuracy on clean pairsDevTrain pairs (teacher A, student B).
- ``dev_train.threshold_at_far_1pct``: the *strictest* of the thresholds that keep 1 % false accepts on the
  pairsDevTrain impostor pairs with B clean and with B under each evaluation degradation: the student pulls a
  degraded face back towards its clean descriptor, so it must not pull strangers in too.
- ``open_set.table``: per-comparison false-accept rate -> threshold from every cross-identity (teacher, student)
  pair of the pairsDevTrain images, again the strictest over clean and degraded probes.

Probe crops are made as the evaluation makes them (``research.evaluate.probes.face_crop`` on the degraded image)
with the evaluation's degradations but seeds of their own (``CALIBRATION_SEED``).
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

from enhancement.datasets import REPO_ROOT, lfw_pairs

from . import degrade
from .calibrate_matcher import OPEN_SET_FARS, balanced_dev_train, best_accuracy_threshold, tar_at_far
from .evaluate.probes import LFW_SIZE, face_crop

OUT = REPO_ROOT / "weights" / "matcher_calibration_student.json"
CALIBRATION_SEED = 4_242
DEGRADATIONS = ("clean", "x4", "x6", "low_light", "blur", "jpeg", "combined")


def _embed_all(paths: list[Path], backend: str, degradation: str) -> np.ndarray:
    from enhancement.embed import embed_face

    out = []
    for path in paths:
        image = cv2.imread(str(path))
        seed = zlib.crc32(f"{CALIBRATION_SEED}:{path.parent.name}/{path.name}:{degradation}".encode())
        degraded = degrade.degrade(image, degradation, seed)
        crop, box = face_crop(degraded.image, degraded.image.shape[1] / LFW_SIZE)
        out.append(embed_face(crop, box, backend=backend))
    return np.stack(out).astype(np.float32)


def _cross(gallery: np.ndarray, probes: np.ndarray, ids: np.ndarray) -> np.ndarray:
    from .evaluate.metrics import pairwise_distances

    d = pairwise_distances(gallery, probes)
    return d[ids[:, None] != ids[None, :]]


def calibrate(log: object = print) -> dict:
    from enhancement.student import STUDENT_WEIGHTS
    from enhancement.weights import read_manifest

    from .evaluate.metrics import threshold_at_far

    t0 = time.perf_counter()
    dev_train, dev_test = balanced_dev_train(), lfw_pairs("pairsDevTest")
    train_paths = sorted({p for a, b, _ in dev_train for p in (a, b)})
    test_paths = sorted({p for a, b, _ in dev_test for p in (a, b)})
    index = {p: i for i, p in enumerate(train_paths)}
    tindex = {p: i for i, p in enumerate(test_paths)}
    teacher_train = _embed_all(train_paths, "tf", "clean")
    teacher_test = _embed_all(test_paths, "tf", "clean")
    ids_train = np.array([p.parent.name for p in train_paths])
    ids_test = np.array([p.parent.name for p in test_paths])
    same_train = np.array([s for _, _, s in dev_train])
    same_test = np.array([s for _, _, s in dev_test])
    per_degradation, tables, far_thresholds = {}, [], []
    clean_threshold = 0.0
    for name in DEGRADATIONS:
        student_train = _embed_all(train_paths, "student", name)
        d_train = np.array([np.linalg.norm(teacher_train[index[a]] - student_train[index[b]]) for a, b, _ in dev_train])
        if name == "clean":
            clean_threshold, clean_acc = best_accuracy_threshold(d_train, same_train)
        far_t = threshold_at_far(np.sort(d_train[~same_train]), 0.01)
        far_thresholds.append(far_t)
        imp = np.sort(_cross(teacher_train, student_train, ids_train))
        tables.append([threshold_at_far(imp, far) for far in OPEN_SET_FARS])
        student_test = _embed_all(test_paths, "student", name)
        d_test = np.array([np.linalg.norm(teacher_test[tindex[a]] - student_test[tindex[b]]) for a, b, _ in dev_test])
        tar, _ = tar_at_far(d_test, same_test, 0.01)
        per_degradation[name] = {"dev_train_threshold_at_far_1pct": round(far_t, 4),
                                 "dev_test_tar_at_far_1pct_own_threshold": round(tar, 4),
                                 "dev_test_imp_median": round(float(np.median(d_test[~same_test])), 4),
                                 "dev_test_same_median": round(float(np.median(d_test[same_test])), 4)}
        if name == "clean":
            clean_test = d_test
        log(f"{name}: train FAR-1% threshold {far_t:.4f} ({time.perf_counter() - t0:.0f} s)")
    strict = float(min(far_thresholds))
    test_imp = np.sort(_cross(teacher_test, _embed_all(test_paths, "student", "clean"), ids_test))
    rows = []
    for i, far in enumerate(OPEN_SET_FARS):
        t = float(min(table[i] for table in tables))
        rows.append({"far": far, "threshold": round(t, 4),
                     "dev_test_far": float(np.searchsorted(test_imp, t, side="left") / len(test_imp))})
    return {
        "threshold": round(float(clean_threshold), 4),
        "metric": "euclidean distance between dlib's descriptor of the enrolled photo and the student's descriptor "
                  "of the probe; same person when distance < threshold",
        "how_chosen": __doc__.split("\n\n")[1].replace("\n", " "),
        "probe_embedder": {"file": STUDENT_WEIGHTS, "sha256": read_manifest().get(STUDENT_WEIGHTS)},
        "dev_train": {"pairs": len(dev_train), "same": int(same_train.sum()), "accuracy": round(clean_acc, 4),
                      "threshold_at_far_1pct": round(strict, 4)},
        "dev_test": {"pairs": len(dev_test), "same": int(same_test.sum()),
                     "far_at_threshold_at_far_1pct": round(float((clean_test[~same_test] < strict).mean()), 4),
                     "tar_at_threshold_at_far_1pct": round(float((clean_test[same_test] < strict).mean()), 4)},
        "per_degradation": per_degradation,
        "open_set": {"how_chosen": "per-comparison false-accept rate -> the strictest threshold over clean and "
                                   "degraded student probes, from every cross-identity (teacher, student) pair of the "
                                   "pairsDevTrain images; dev_test_far: the same thresholds on pairsDevTest images "
                                   "(clean probes, other people)",
                     "table": rows},
        "seconds": round(time.perf_counter() - t0),
        "command": "python -m research.calibrate_student",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    result = calibrate()
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "open_set"}, indent=2))


if __name__ == "__main__":
    main()

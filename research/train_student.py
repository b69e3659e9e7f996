"""Distil a degradation-robust probe embedder from dlib's face ResNet.

    python -m research.train_student --run NAME [--steps N] [--batch B] [--train-blocks K] [--resume] [--export]

Teacher: dlib's network, frozen, on the **clean** face. Student: a copy of it (``enhancement.student``), started
from dlib's weights, shown the same face through a random CCTV chain (``research.student_data``). Loss per batch:
mean squared distance student(degraded) -> teacher(clean) over the degraded faces, plus ``clean_weight`` times the
same for clean copies (so clean matching does not move). Adam, linear warm-up then cosine decay.

Writes to ``runs/student/NAME/``: ``progress.log`` (loss, seconds per step, validation), ``last.*`` checkpoints every
``--checkpoint`` steps and on SIGTERM (weights, optimiser variables, step: batch n depends only on the seed and n, so
a resumed run sees the same data; ``--resume`` continues with the run's saved ``config.json`` and refuses options
that differ from it), ``best.weights.h5`` and ``best.json`` (the lowest validation score so far: mean
over the validation degradations of the student's distance to the teacher's clean descriptor, plus 4x the clean
distance) and ``curve.json``. ``--export`` copies best to ``weights/embedder_student.weights.h5`` and records its
sha256 in ``weights/manifest.json``.

The face set's alignment maps and teacher descriptors are cached in ``runs/student/cache_<split>.npz``.
A short CPU run (``--steps 200``) finishes in a few minutes and exercises every part.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .training import REPO, export_best
from .training import log_line as _log

RUNS = REPO / "runs" / "student"


def load_faces(split: str, log: Any) -> Any:
    from . import student_data as sd

    cache = RUNS / f"cache_{split}.npz"
    if cache.exists():
        data = np.load(cache)
        return sd.FaceSet([str(p) for p in data["paths"]], data["maps"], data["teacher"])
    faces = sd.prepare(sd.face_paths(split), log)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, paths=np.array(faces.paths), maps=faces.maps, teacher=faces.teacher)
    return faces


class Batches:
    """Makes training batches in a background thread (OpenCV releases the GIL), two ahead."""

    def __init__(self, faces: Any, kernels: list[np.ndarray], batch: int, clean: int, seed: int, step: int):
        import cv2

        self.faces, self.kernels, self.batch, self.clean = faces, kernels, batch, clean
        self.images = [cv2.imread(p, cv2.IMREAD_COLOR) for p in faces.paths]
        self.seed, self.step = seed, step
        self.q: queue.Queue = queue.Queue(maxsize=2)
        threading.Thread(target=self._fill, daemon=True).start()

    def _make(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        from . import student_data as sd

        rng = np.random.default_rng([self.seed, step])  # batch n depends only on (seed, n): resume is exact
        idx = rng.integers(len(self.images), size=self.batch)
        chips, targets = [], []
        for j, i in enumerate(idx):
            image, m = self.images[i], self.faces.maps[i]
            if j < self.clean:
                chips.append(sd.warp_chip(image, m, sd.similarity(rng, 0.5)))
            else:
                chips.append(sd.degraded_chip(image, m, sd.random_chain(rng, self.kernels), rng))
            targets.append(self.faces.teacher[i])
        return np.stack(chips).astype(np.float32), np.stack(targets)

    def _fill(self) -> None:
        step = self.step
        while True:
            self.q.put((step, *self._make(step)))
            step += 1

    def next(self) -> tuple[int, np.ndarray, np.ndarray]:
        return self.q.get()


def validation_set(faces: Any, kernels: list[np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    import cv2

    from . import student_data as sd

    sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    images = [cv2.imread(p, cv2.IMREAD_COLOR) for p in faces.paths]
    for name in sd.validation_chains(kernels):
        chips = [sd.val_chip(img, m, name, i, kernels) for i, (img, m) in enumerate(zip(images, faces.maps,
                                                                                           strict=True))]
        sets[name] = (np.stack(chips).astype(np.float32), faces.teacher)
    return sets


def val_distances(model: Any, sets: dict[str, tuple[np.ndarray, np.ndarray]],
                  labels: list[str] | None = None) -> dict[str, float]:
    """Per validation degradation: the mean distance of the student's descriptor of the degraded face to the
    teacher's clean one; with ``labels`` (each face's identity) also identification as matching uses it
    (``research.student_val``: ``<name>_tar1``, ``<name>_rank1``)."""
    from .student_val import describe, identity_scores

    out = {}
    for name, (chips, target) in sets.items():
        pred = describe(model, chips)
        out[name] = round(float(np.linalg.norm(pred - target, axis=1).mean()), 4)
        if name == "combined":  # how close a degraded face comes to the nearest *other* face: falling = collapse
            d = np.linalg.norm(pred[:, None, :] - target[None, :, :], axis=2)
            np.fill_diagonal(d, np.inf)
            out["combined_nearest_other"] = round(float(d.min(axis=1).mean()), 4)
        if labels is not None:
            scores = identity_scores(pred, target, labels)
            out[f"{name}_tar1"], out[f"{name}_rank1"] = scores["tar1"], scores["rank1"]
    return out


def _distances(tf: Any, a: Any, b: Any) -> Any:
    """Euclidean distances between every row of ``a`` and every row of ``b``."""
    sa, sb = tf.reduce_sum(a * a, axis=1), tf.reduce_sum(b * b, axis=1)
    return tf.sqrt(tf.maximum(sa[:, None] + sb[None, :] - 2.0 * tf.matmul(a, b, transpose_b=True), 1e-12))


def relational_loss(tf: Any, student: Any, teacher: Any) -> Any:
    """Mean squared difference between the student's and the teacher's pairwise distances within a batch (pairs
    of the same image, drawn twice, included: their teacher distance is 0)."""
    return tf.reduce_mean((_distances(tf, student, student) - _distances(tf, teacher, teacher)) ** 2)


def margin_loss(tf: Any, student: Any, teacher: Any) -> Any:
    """Probe-to-gallery geometry, as matching sees it: for a degraded face i and another face j of the batch, the
    student's descriptor of i should be no closer to j's clean teacher descriptor than i's clean descriptor is
    (squared hinge on ``d(s_i, t_j) < d(t_i, t_j)``; pairs of the same image are left out). Distillation alone
    pulls a face that carries little identity towards everyone; this term pushes back only where it does."""
    d_student, d_teacher = _distances(tf, student, teacher), _distances(tf, teacher, teacher)
    other = tf.cast(d_teacher > 1e-3, student.dtype)
    gap = tf.nn.relu(d_teacher - d_student) * other
    return tf.reduce_sum(gap ** 2) / tf.maximum(tf.reduce_sum(other), 1.0)


def trainable_subset(model: Any, blocks: int | None) -> list[Any]:
    """The variables fine-tuned: all, or with ``blocks`` those of the stem and the first ``blocks`` residual blocks
    (the student layer's body layers before the start of block ``blocks``). The later blocks then keep dlib's
    weights, so the identity geometry they build is not re-learnt from the distillation loss: the degradation is
    undone where it enters, in the low-level features."""
    if blocks is None:
        return list(model.trainable_variables)
    net = model.layers[-1]  # enhancement.student's dlib ResNet layer: its per-layer variables and block starts
    starts = sorted(net.starts)
    if not 0 <= blocks < len(starts):
        raise SystemExit(f"--train-blocks must be 0..{len(starts) - 1}")
    return [v for entry in net.params[:starts[blocks]] for v in entry.values()]


IDENTITY = "identity"  # the best-checkpoint criterion when the validation has identity scores


def val_score(d: dict[str, float]) -> float:
    """Lower is better. With identity scores: the share of genuine pairs lost at 1 % false accepts, averaged over
    the degradations, plus twice that of clean faces (clean matching must not move); without (s3 and earlier): mean
    distance to the clean descriptor over the degradations plus 4x the clean one."""
    if "clean_tar1" in d:
        degraded = [v for k, v in d.items() if k.endswith("_tar1") and k != "clean_tar1"]
        return float(np.mean([1.0 - v for v in degraded]) + 2.0 * (1.0 - d["clean_tar1"]))
    plain = [v for k, v in d.items() if k != "clean" and not k.endswith(("_other", "_tar1", "_rank1"))]
    return float(np.mean(plain) + 4 * d["clean"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].strip())
    parser.add_argument("--run", required=True)
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--clean", type=int, default=8, help="clean copies per batch")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--clean-weight", type=float, default=1.0)
    parser.add_argument("--relational-weight", type=float, default=0.0,
                        help="weight of the term that keeps the student's pairwise distances between the batch's "
                             "degraded faces equal to the teacher's between the same clean faces (0: off, as in s3)")
    parser.add_argument("--margin-weight", type=float, default=0.0,
                        help="weight of the hinge that stops a degraded face's student descriptor from coming closer "
                             "to another face's clean teacher descriptor than its own clean descriptor is (0: off)")
    parser.add_argument("--train-blocks", type=int, default=None,
                        help="fine-tune only the stem and the first N residual blocks (the rest stays dlib's)")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--checkpoint", type=int, default=200)
    parser.add_argument("--validate", type=int, default=500)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("TF_NUM_INTRAOP_THREADS", "2")))
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--export", action="store_true")
    args = parser.parse_args(argv)
    run = RUNS / args.run
    if args.export:
        return export(run)
    run.mkdir(parents=True, exist_ok=True)
    log_path = run / "progress.log"

    def log(message: str) -> None:
        _log(log_path, message)

    # Settled before TensorFlow starts, so a refused --resume costs nothing and leaves no TensorFlow state behind.
    config = {k: v for k, v in vars(args).items() if k not in ("resume", "export", "threads")}
    if args.resume and (run / "config.json").exists():
        # A resumed run continues the run that was started: its saved settings, not this command line's defaults.
        saved = json.loads((run / "config.json").read_text())
        clash = {k: (saved[k], v) for k, v in config.items()
                 if k in saved and v != saved[k] and v != parser.get_default(k)}
        if clash:
            parser.error("--resume continues the saved run; these options differ from its config.json (saved, "
                         f"given): {clash}")
        config.update(saved)
        vars(args).update(saved)
    else:
        (run / "config.json").write_text(json.dumps(config, indent=2))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    from enhancement.student import build_student

    from . import student_data as sd

    train_faces, val_faces = load_faces("train", log), load_faces("val", log)
    log(f"train faces {len(train_faces.paths)}, validation faces {len(val_faces.paths)}")
    kernels = sd.training_kernels()
    val_sets = validation_set(val_faces, sd.training_kernels(200, sd.VAL_KERNEL_SEED))
    from .student_val import labels_of

    val_labels = labels_of(val_faces.paths)

    model = build_student()
    train_vars = trainable_subset(model, args.train_blocks)
    log(f"training {sum(int(np.prod(v.shape)) for v in train_vars)} of "
        f"{sum(int(np.prod(v.shape)) for v in model.trainable_variables)} parameters")
    warmup = min(300, args.steps // 10)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, args.steps - warmup, alpha=0.02, warmup_target=args.lr, warmup_steps=warmup)
    optimizer = keras.optimizers.Adam(schedule)
    optimizer.build(train_vars)
    state: dict[str, Any] = {"step": 0, "best": None, "curve": []}
    if args.resume and (run / "last.json").exists():
        state = json.loads((run / "last.json").read_text())
        model.load_weights(str(run / "last.weights.h5"))
        saved = np.load(run / "last_optimizer.npz")
        for i, var in enumerate(optimizer.variables):
            var.assign(saved[f"v{i}"])
        log(f"resumed at step {state['step']}")
    else:
        base = val_distances(model, val_sets, val_labels)
        state["curve"].append({"step": 0, **base})
        log(f"validation at step 0 (dlib itself): {base}")

    n_clean = args.clean

    @tf.function(reduce_retracing=True)
    def train_step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            d2 = tf.reduce_sum((out - y) ** 2, axis=1)
            loss = tf.reduce_mean(d2[n_clean:]) + args.clean_weight * tf.reduce_mean(d2[:n_clean])
            if args.relational_weight:
                # Distillation alone pulls a face that carries little identity towards the middle of the descriptor
                # cloud, i.e. towards everyone (s3: the open-set threshold had to tighten). Keep the degraded faces
                # as far apart from each other as their clean descriptors are.
                loss += args.relational_weight * relational_loss(tf, out[n_clean:], y[n_clean:])
            if args.margin_weight:
                loss += args.margin_weight * margin_loss(tf, out[n_clean:], y[n_clean:])
        grads = tape.gradient(loss, train_vars)
        optimizer.apply_gradients(zip(grads, train_vars, strict=True))
        return loss, tf.reduce_mean(tf.sqrt(d2[n_clean:] + 1e-12)), tf.reduce_mean(tf.sqrt(d2[:n_clean] + 1e-12))

    def checkpoint() -> None:
        model.save_weights(str(run / "last.weights.h5"))
        np.savez(run / "last_optimizer.npz", **{f"v{i}": np.asarray(v) for i, v in enumerate(optimizer.variables)})
        (run / "last.json").write_text(json.dumps(state))
        (run / "curve.json").write_text(json.dumps(state["curve"], indent=1))

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    batches = Batches(train_faces, kernels, args.batch, n_clean, args.seed, state["step"])
    started, window, t0 = time.time(), [], time.time()
    while state["step"] < args.steps and not stop["now"]:
        step, x, y = batches.next()
        loss, d_deg, d_clean = (float(v) for v in train_step(tf.constant(x), tf.constant(y)))
        state["step"] = step + 1
        window.append((loss, d_deg, d_clean))
        if state["step"] % 50 == 0:
            w = np.mean(window, axis=0)
            log(f"step {state['step']} loss {w[0]:.4f} dist degraded {w[1]:.4f} clean {w[2]:.4f} "
                f"{(time.time() - t0) / len(window):.2f} s/step")
            window, t0 = [], time.time()
        if state["step"] % args.validate == 0 or state["step"] == args.steps:
            d = val_distances(model, val_sets, val_labels)
            score = val_score(d)
            state["curve"].append({"step": state["step"], "elapsed_s": round(time.time() - started), **d})
            criterion = IDENTITY if "clean_tar1" in d else "distance"
            best = state["best"]
            if best is None or best.get("criterion", "distance") != criterion or score < best["score"]:
                # a run resumed with identity scores starts its best over: the two scores do not compare
                state["best"] = {"step": state["step"], "score": round(score, 4), "criterion": criterion, **d}
                model.save_weights(str(run / "best.weights.h5"))
                (run / "best.json").write_text(json.dumps(state["best"]))
            log(f"validation at step {state['step']}: {d} score {score:.4f} (best at {state['best']['step']})")
        if state["step"] % args.checkpoint == 0:
            checkpoint()
    checkpoint()
    log(f"stopped at step {state['step']} after {time.time() - started:.0f} s" + (" (SIGTERM)" if stop["now"] else ""))
    return 0


def export(run: Path) -> int:
    from enhancement.student import STUDENT_WEIGHTS

    return export_best(run, STUDENT_WEIGHTS.removesuffix(".weights.h5"),
                       lambda best: f"step {best['step']}, validation {best}")


if __name__ == "__main__":
    sys.exit(main())

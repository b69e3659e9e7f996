"""Train SRCNN (9-5-5, residual over bicubic) on luma patches; checkpoints, resume and a progress log.

    python -m research.train_srcnn --scale 3 --model general --steps 3000 --batch 64 --patch 44 --seed 1 \
        --out weights/srcnn_general_x3.weights.h5 --resume --threads 1

Data (never Set5/Set14, which are the test sets):
- ``general``: T91 (``../shared/data/sr_train/T91``) plus copies downscaled by 0.9/0.8/0.7/0.6 (the augmentation
  later SR papers used), and random flips/rotations per patch.
- ``face``: UTKFace-style crops (``utkface_pool``) plus LFW images of the *train* identities only
  (``weights/splits``), centre 160 px; flips (no rotations: faces are upright in our use).
LR images are MATLAB-style bicubic down then up (``sr_metrics.imresize``), as in the paper's evaluation.

Optimiser: Adam, lr ``--lr`` (1e-3) held for the first half, then cosine decay to 1e-5; loss MSE on the patch centre
(``--margin`` px skipped so no zero padding enters the loss). Batch ``i`` is drawn from ``default_rng([seed, i])``,
so a resumed run sees exactly the batches an uninterrupted one would.

``--init`` starts from other weights (the face model starts from the general one). Validation PSNR in the log
(Set5 for ``general``; 50 crops of the LFW *val* identities for ``face``) is for reporting and for choosing the
last good checkpoint only; nothing is tuned on it during training. ``--stop-at`` ends a run early once the
validation figure reaches a target (with Set5 that is a use of the test set for stopping; the model cards say so).
Checkpoints go to ``runs/<name>/`` (weights, optimiser state, step); the final file holds layer weights only.
"""

from __future__ import annotations

import os

# One BLAS thread: with several busy processes on 2 cores, OpenBLAS's own threads made the numpy resizes ~50x
# slower (13 min instead of seconds to build the face pairs). Must be set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from enhancement.bicubic import imresize, luma
from enhancement.datasets import lfw_images, shared_data_dir, split_identities
from enhancement.weights import WEIGHTS_DIR, record_in_manifest, sha256_file

from .sr_metrics import bicubic_pair, lfw_centre_crops, modcrop, psnr, to_uint8

RUNS = Path("runs")


def _pairs_from_luma(images: list[np.ndarray], scales: list[int],
                     dtype: type = np.float32) -> list[tuple[np.ndarray, np.ndarray]]:
    """(HR, bicubic) float32 [0, 1] pairs; HR mod-cropped to each scale."""
    pairs = []
    for y in images:
        for s in scales:
            hr = modcrop(y, s).astype(np.float64) / 255.0
            if min(hr.shape) < 3 * s:
                continue
            bic = imresize(imresize(hr, 1.0 / s), float(s))
            pairs.append((hr.astype(dtype), bic.astype(dtype)))
    return pairs


def general_images() -> list[np.ndarray]:
    ys = []
    for path in sorted((shared_data_dir() / "sr_train" / "T91").glob("*.bmp")):
        y = luma(cv2.imread(str(path)))
        ys.append(y)
        for factor in (0.9, 0.8, 0.7, 0.6):
            ys.append(np.clip(np.rint(imresize(y.astype(np.float64), factor)), 0, 255).astype(np.uint8))
    return ys


def face_images(max_lfw: int = 3000, seed: int = 0) -> list[np.ndarray]:
    """UTKFace-pool crops (centre 160 of 200) and LFW train-identity images (centre 160 of 250), as luma."""
    ys = [luma(cv2.imread(str(p)))[20:180, 20:180]
          for p in sorted((shared_data_dir() / "utkface_pool").rglob("*.jpg"))]
    paths = [p for ident in split_identities("train") for p in lfw_images(ident)]
    rng = np.random.default_rng(seed)
    if len(paths) > max_lfw:
        paths = [paths[i] for i in sorted(rng.choice(len(paths), max_lfw, replace=False))]
    for p in paths:
        y = luma(cv2.imread(str(p)))
        c0 = (y.shape[0] - 160) // 2
        ys.append(y[c0:c0 + 160, c0:c0 + 160])
    return ys


class PatchSampler:
    """Random (bicubic, HR) patches, area-weighted over images; batch ``i`` depends only on (seed, i)."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], patch: int, rotate: bool) -> None:
        self.pairs = [p for p in pairs if min(p[0].shape) >= patch]
        area = np.array([p[0].size for p in self.pairs], dtype=np.float64)
        self.prob = area / area.sum()
        self.patch = patch
        self.rotate = rotate

    def batch(self, seed: int, index: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([seed, index])
        p = self.patch
        xs = np.empty((size, p, p, 1), np.float32)
        ys = np.empty((size, p, p, 1), np.float32)
        for k, i in enumerate(rng.choice(len(self.pairs), size, p=self.prob)):
            hr, bic = self.pairs[i]
            r = rng.integers(0, hr.shape[0] - p + 1)
            c = rng.integers(0, hr.shape[1] - p + 1)
            a, b = bic[r:r + p, c:c + p], hr[r:r + p, c:c + p]
            if self.rotate:
                turns = int(rng.integers(0, 4))
                a, b = np.rot90(a, turns), np.rot90(b, turns)
            if rng.integers(0, 2):
                a, b = a[:, ::-1], b[:, ::-1]
            xs[k, :, :, 0], ys[k, :, :, 0] = a, b  # float16 -> float32
        return xs, ys


def validation_images(kind: str) -> list[np.ndarray]:
    """Set5 for the general model; 50 crops of the LFW *val* identities for the face model."""
    if kind == "face":
        return lfw_centre_crops("val", 50)
    return [luma(cv2.imread(str(p))) for p in sorted((shared_data_dir() / "set5_set14" / "CSet5").glob("*.png"))]


def validation_psnr(model, images: list[np.ndarray], scale: int) -> float:
    """Mean PSNR (Y, border = scale) of the model on ``images``; for the log and checkpoint choice only."""
    from enhancement.srcnn import run_on_luma

    scores = []
    for y in images:
        hr, bic = bicubic_pair(y, scale)
        scores.append(psnr(to_uint8(hr), to_uint8(run_on_luma(model, bic)), border=scale))
    return float(np.mean(scores))


def export_weights(model, path: str | Path) -> None:
    """Save the layer weights alone: a compiled model's weights file also carries the Adam moments (3x the size)."""
    from enhancement.srcnn import build_model

    clean = build_model()
    clean.set_weights(model.get_weights())
    clean.save_weights(str(path), overwrite=True)


def learning_rate(step: int, total: int, base: float = 1e-3, final: float = 1e-5) -> float:
    hold = total // 2
    if step < hold:
        return base
    t = (step - hold) / max(1, total - hold)
    return final + 0.5 * (base - final) * (1.0 + math.cos(math.pi * t))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, nargs="+", default=[3], help="one or more scales (multi-scale model)")
    ap.add_argument("--model", choices=["general", "face"], default="general")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--patch", type=int, default=44)
    ap.add_argument("--margin", type=int, default=6, help="patch border excluded from the loss")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="final weights file, e.g. weights/srcnn_general_x3.weights.h5")
    ap.add_argument("--name", default=None, help="run name (default: from --out)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate held for the first half")
    ap.add_argument("--init", default=None, help="start from these weights (e.g. the general model), not at random")
    ap.add_argument("--threads", type=int, default=1, help="TensorFlow intra-op threads (1 for background runs)")
    ap.add_argument("--every", type=int, default=250, help="log / checkpoint / validate every N steps")
    ap.add_argument("--stop-at", type=float, default=None, help="stop once Set5 validation PSNR reaches this")
    args = ap.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.random.set_seed(args.seed)
    import keras

    from enhancement.srcnn import build_model

    name = args.name or Path(args.out).name.removesuffix(".weights.h5")
    run_dir = RUNS / name
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "progress.log", "a", buffering=1)

    def say(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log.write(line + "\n")

    say(f"args {vars(args)}")
    t0 = time.time()
    images = general_images() if args.model == "general" else face_images(seed=args.seed)
    # float16 keeps the face set (thousands of crops, two scales) under a gigabyte; its rounding (< 0.1/255 here)
    # is far below what the network can learn. T91 is small enough for float32.
    dtype = np.float16 if args.model == "face" else np.float32
    sampler = PatchSampler(_pairs_from_luma(images, args.scale, dtype), args.patch, rotate=args.model == "general")
    say(f"data: {len(images)} images -> {len(sampler.pairs)} pairs in {time.time() - t0:.0f}s")

    keras.utils.set_random_seed(args.seed)
    model = build_model()
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    m = args.margin

    def centre_mse(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true[:, m:-m, m:-m, :] - y_pred[:, m:-m, m:-m, :]))

    model.compile(optimizer=optimizer, loss=centre_mse)
    state_path, ckpt_path, opt_path = run_dir / "state.json", run_dir / "ckpt.weights.h5", run_dir / "optimizer.npz"
    step = 0
    if args.init:
        model.load_weights(args.init)
        say(f"initialised from {args.init}")
    if args.resume and state_path.exists():
        state = json.loads(state_path.read_text())
        step = state["step"]
        model.load_weights(str(ckpt_path))
        optimizer.build(model.trainable_variables)
        saved = np.load(opt_path)
        for i, var in enumerate(optimizer.variables):
            var.assign(saved[f"v{i}"])
        say(f"resumed at step {step}")

    def checkpoint(s: int, val: float | None) -> None:
        model.save_weights(str(run_dir / "tmp.weights.h5"), overwrite=True)
        (run_dir / "tmp.weights.h5").replace(ckpt_path)
        np.savez(run_dir / "optimizer_tmp.npz", **{f"v{i}": v.numpy() for i, v in enumerate(optimizer.variables)})
        (run_dir / "optimizer_tmp.npz").replace(opt_path)
        state_path.write_text(json.dumps({"step": s, "val_psnr": val}))

    losses, t_last = [], time.time()
    val_scale = 3 if 3 in args.scale else max(args.scale)
    val_images = validation_images(args.model)
    val_name = f"{'lfw_val' if args.model == 'face' else 'set5'}_x{val_scale}"
    while step < args.steps:
        optimizer.learning_rate.assign(learning_rate(step, args.steps, args.lr))
        x, y = sampler.batch(args.seed, step, args.batch)
        losses.append(float(model.train_on_batch(x, y)))
        step += 1
        if step % args.every == 0 or step == args.steps:
            val = validation_psnr(model, val_images, val_scale)
            rate = args.every / (time.time() - t_last)
            say(f"step {step} loss {np.mean(losses):.3e} lr {learning_rate(step - 1, args.steps, args.lr):.2e} "
                f"{val_name} {val:.3f} dB ({rate:.2f} steps/s)")
            checkpoint(step, val)
            if val > (json.loads((run_dir / "best.json").read_text())["val_psnr"]
                      if (run_dir / "best.json").exists() else -1.0):
                model.save_weights(str(run_dir / "best.weights.h5"), overwrite=True)
                (run_dir / "best.json").write_text(json.dumps({"step": step, "val_psnr": val}))
            losses, t_last = [], time.time()
            if args.stop_at is not None and val >= args.stop_at:
                say(f"reached {args.stop_at} dB, stopping")
                break
    export_weights(model, args.out)
    out = Path(args.out).resolve()
    digest = record_in_manifest(out, out.parent) if out.parent == WEIGHTS_DIR.resolve() else sha256_file(out)
    say(f"wrote {args.out} at step {step}, sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

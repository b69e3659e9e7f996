"""Train the small-face restoration model: ``python -m research.train_restore --config FILE [--resume|--export]``.

Loss: L1 on pixels (both images in [-1, 1]) + ``identity`` x the squared distance between dlib descriptors of the
output and of the clean face, both warped to the same aligned chip (``research.deblur.identity``). Data:
``research.restore.data`` (LFW *train* identities, the CCTV chain at x1/4 with per-sample parameters; targets
at the input's exposure). PSNR in the log is against those targets; identity against the clean, fully lit face.

Writes to ``runs/<name>/``: ``progress.log`` (losses, seconds per step, validation), ``last.weights.h5`` +
``last_opt.npz`` + ``state.json`` (``--resume`` continues in the same data stream) and ``best.weights.h5``: the
model with the lowest validation identity distance on the ``combined`` set (the figure the product needs), written
as soon as it improves. ``--export`` copies ``best`` to ``weights/<name>.weights.h5`` and records its sha256 in
``weights/manifest.json``. The config in ``research/restore/configs/`` runs at ~0.42 s/step on 2 CPU cores.
"""

from __future__ import annotations

import json
import time

import numpy as np

from .training import export_best, parse, psnr_uint8, start_tensorflow
from .training import log_line as _log


def main(argv: list[str] | None = None) -> int:
    args, config, run_dir = parse(__doc__, argv)
    name = config["name"]
    if args.export:
        return export_best(run_dir, name, lambda info: f"step {info['step']}, "
                                                       f"val identity distance {info['val_identity']:.4f}")

    tf = start_tensorflow(config.get("threads", {"intra": 2, "inter": 1}))
    import keras

    from enhancement.embed_tf import _network, describe_chips_tf

    from .deblur.data import from_unit, to_unit
    from .deblur.identity import identity_loss, numpy_chips
    from .restore import data
    from .restore.model import build_model

    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "progress.log"
    keras.utils.set_random_seed(config["seed"])
    rng = np.random.default_rng(config["seed"])
    model = build_model(**config["model"])
    total = config["steps"]
    lr = keras.optimizers.schedules.CosineDecay(config["lr"], total, alpha=config["lr_min"] / config["lr"])
    opt = keras.optimizers.Adam(lr)
    opt.build(model.trainable_variables)
    w = config["loss_weights"]
    chain = data.Chain(**config.get("chain", {}))
    embed = _network()[0]

    @tf.function(reduce_retracing=True)
    def train_step(small, target, transforms):
        with tf.GradientTape() as tape:
            pred = model(small, training=True)
            pix = tf.reduce_mean(tf.abs(pred - target))
            ident = identity_loss(embed, pred, target, transforms)
            loss = w["pixel"] * pix + w["identity"] * ident
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables,
                                strict=True))
        return pix, ident

    cache = run_dir / "train_faces.npz"
    t_load = time.perf_counter()
    if cache.exists():
        stored = np.load(cache)
        faces = [data.Face(img, aff) for img, aff in zip(stored["images"], stored["affines"], strict=True)]
    else:
        faces = data.load_faces("train", config.get("per_identity", 20))
        np.savez(cache, images=np.stack([f.image for f in faces]), affines=np.stack([f.affine for f in faces]))
    val_faces = data.load_faces("val", 2, limit=config.get("val_count", 40))
    _log(log_path, f"{len(faces)} training faces, {len(val_faces)} validation faces "
         f"({time.perf_counter() - t_load:.0f} s to load and align)")

    def next_batch():
        small, target, transforms = data.batch(faces, config["batch"], rng, chain)
        return tf.constant(to_unit(small)), tf.constant(to_unit(target)), tf.constant(transforms)

    if args.bench:
        train_step(*next_batch())
        t0 = time.perf_counter()
        for _ in range(args.bench):
            train_step(*next_batch())
        print(f"{(time.perf_counter() - t0) / args.bench:.3f} s/step (batch {config['batch']})")
        return 0

    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    val, val_clean, val_transforms = data.validation_set(val_faces, config.get("val_seed", 4343))
    reference = describe_chips_tf(numpy_chips(val_clean, val_transforms))

    def id_distance(images: np.ndarray) -> float:
        return float(np.linalg.norm(describe_chips_tf(numpy_chips(images, val_transforms)) - reference, axis=1).mean())

    def restore(small: np.ndarray) -> np.ndarray:
        return from_unit(predict(tf.constant(to_unit(small))).numpy())

    def bicubic(small: np.ndarray) -> np.ndarray:
        from .degrade import upscale

        return np.stack([upscale(s, data.FACTOR) for s in small])

    baseline = {k: (id_distance(bicubic(x)), psnr_uint8(bicubic(x), y)) for k, (x, y) in val.items()}

    def validate() -> float:
        parts = []
        scores = {}
        for key, (small, target) in val.items():
            out = restore(small)
            scores[key] = id_distance(out)
            parts.append(f"{key}: identity {scores[key]:.4f} (bicubic {baseline[key][0]:.4f}), "
                         f"PSNR {psnr_uint8(out, target):.2f} dB (bicubic {baseline[key][1]:.2f})")
        _log(log_path, "validation " + "; ".join(parts))
        return scores["combined"]

    state = {"step": 0, "best": None, "best_step": None}
    if args.resume and (run_dir / "state.json").exists():
        state = json.loads((run_dir / "state.json").read_text())
        model.load_weights(run_dir / "last.weights.h5")
        stored = np.load(run_dir / "last_opt.npz")
        for i, v in enumerate(opt.variables):
            v.assign(stored[f"o{i}"])
        rng.bit_generator.state = state["rng"]
        _log(log_path, f"resumed at step {state['step']} (best {state['best']} at {state['best_step']})")
    else:
        (run_dir / "config.json").write_text(json.dumps(config, indent=2))
        _log(log_path, f"start {name}: {model.count_params()} parameters")
        validate()

    def checkpoint() -> None:
        model.save_weights(run_dir / "last.weights.h5")
        np.savez(run_dir / "last_opt.npz", **{f"o{i}": v.numpy() for i, v in enumerate(opt.variables)})
        state["rng"] = rng.bit_generator.state
        (run_dir / "state.json").write_text(json.dumps(state))

    sums, count, t0 = np.zeros(2), 0, time.perf_counter()
    while state["step"] < total:
        sums += np.array([float(v) for v in train_step(*next_batch())])
        count += 1
        state["step"] += 1
        step = state["step"]
        if step % config.get("log_every", 50) == 0:
            m = sums / count
            _log(log_path, f"step {step}/{total} l1 {m[0]:.4f} identity {m[1]:.4f} "
                 f"lr {float(opt.learning_rate):.2e} {(time.perf_counter() - t0) / count:.3f} s/step")
            sums[:], count, t0 = 0, 0, time.perf_counter()
        if step % config["val_every"] == 0 or step == total:
            score = validate()
            if state["best"] is None or score < state["best"]:
                state.update(best=score, best_step=step)
                model.save_weights(run_dir / "best.weights.h5")
                (run_dir / "best.json").write_text(json.dumps({"step": step, "val_identity": score}))
            _log(log_path, f"validation step {step}: combined identity distance {score:.4f} "
                 f"(best {state['best']:.4f} at {state['best_step']})")
            checkpoint()
            t0 = time.perf_counter()
    _log(log_path, "done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train the face deblur GAN: ``python -m research.train_deblur --config FILE [--resume] [--export]``.

Writes to ``runs/<name>/``: ``progress.log`` (losses, seconds per step, validation PSNR), ``last_*`` checkpoints
(generator, discriminators, optimiser state, RNG state: ``--resume`` continues bit-for-bit in its data stream)
and ``best.weights.h5`` (the generator with the best validation PSNR so far, written as soon as it improves, so a
run stopped early still leaves a usable model). ``--export`` copies ``best`` to ``weights/<name>.weights.h5``
and records its sha256 in ``weights/manifest.json``.

Schedule: ``warmup_steps`` of content loss only (L1 + SSIM), then the double-scale RaLSGAN term is switched on
with a small weight for the remaining steps. See ``research/deblur/losses.py`` for why there is no VGG loss.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .training import export_best, parse, psnr_uint8, start_tensorflow
from .training import log_line as _log


def main(argv: list[str] | None = None) -> int:
    args, config, run_dir = parse(__doc__, argv)
    name = config["name"]
    if args.export:
        return export_best(run_dir, name, lambda info: f"step {info['step']} ({info['phase']}), "
                                                       f"val PSNR {info['val_psnr']:.2f}")

    tf = start_tensorflow(config.get("threads", {"intra": 1, "inter": 1}))
    import keras

    from enhancement.deblur.model import DiscriminatorConfig, GeneratorConfig, build_discriminators, build_generator

    from .blur_kernels import random_motion_kernel
    from .deblur import data
    from .deblur.losses import l1, mse, ralsgan_d_loss, ralsgan_g_loss, ssim_loss

    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "progress.log"
    keras.utils.set_random_seed(config["seed"])
    rng = np.random.default_rng(config["seed"])
    gen = build_generator(GeneratorConfig.from_dict(config["generator"]))
    d_patch, d_global = build_discriminators(DiscriminatorConfig(**config.get("discriminator", {})))
    total = config["steps"]
    warmup = config["warmup_steps"]
    lr = keras.optimizers.schedules.CosineDecay(config["lr"], total, alpha=config["lr_min"] / config["lr"])
    g_opt = keras.optimizers.Adam(lr)
    d_opt = keras.optimizers.Adam(config["d_lr"], beta_1=0.5)
    g_opt.build(gen.trainable_variables)
    d_vars = d_patch.trainable_variables + d_global.trainable_variables
    d_opt.build(d_vars)
    w = config["loss_weights"]
    pixel_loss = {"l1": l1, "mse": mse}[config.get("pixel_loss", "l1")]
    deg = data.Degradation(**config.get("degradation", {}))
    scale = tuple(config.get("scale", (0.6, 1.0)))

    use_identity = bool(w.get("identity"))
    if use_identity:
        # See research/deblur/identity.py: dlib's face embedder stands in for the paper's VGG perceptual loss.
        from enhancement.embed_tf import _network

        from .deblur import identity

        embed = _network()[0]

    def content_terms(blurred, sharp, id_blurred=None, id_sharp=None, id_transforms=None):
        pred = gen(blurred, training=True)
        pix, ssim = pixel_loss(pred, sharp), ssim_loss(pred, sharp)
        ident = tf.constant(0.0)
        if use_identity:
            ident = identity.identity_loss(embed, gen(id_blurred, training=True), id_sharp, id_transforms)
        return pred, pix, ssim, ident, w["pixel"] * pix + w["ssim"] * ssim + w.get("identity", 0.0) * ident

    @tf.function(reduce_retracing=True)
    def content_step(blurred, sharp, *id_batch):
        with tf.GradientTape() as tape:
            _, pix, ssim, ident, loss = content_terms(blurred, sharp, *id_batch)
        g_opt.apply_gradients(zip(tape.gradient(loss, gen.trainable_variables), gen.trainable_variables, strict=True))
        return pix, ssim, tf.constant(0.0), tf.constant(0.0), ident

    @tf.function(reduce_retracing=True)
    def gan_step(blurred, sharp, *id_batch):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            pred, pix, ssim, ident, content = content_terms(blurred, sharp, *id_batch)
            real_p, fake_p = d_patch(sharp, training=True), d_patch(pred, training=True)
            real_g, fake_g = d_global(sharp, training=True), d_global(pred, training=True)
            d_loss = ralsgan_d_loss(real_p, fake_p) + ralsgan_d_loss(real_g, fake_g)
            adv = (ralsgan_g_loss(real_p, fake_p) + ralsgan_g_loss(real_g, fake_g)) / 2.0
            loss = content + w["adv"] * adv
        g_opt.apply_gradients(zip(g_tape.gradient(loss, gen.trainable_variables), gen.trainable_variables, strict=True))
        d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars, strict=True))
        return pix, ssim, adv, d_loss, ident

    faces = data.load_training_faces(config.get("lfw_per_identity", 8), config.get("use_utkface", True))
    batch, patch = config["batch"], config["patch"]
    id_faces = []
    if use_identity:
        id_faces = identity.identity_faces("train", config.get("identity_per_identity", 4))
    id_batch_size = config.get("identity_batch", 4)

    def next_batch():
        blurred, sharp = data.training_batch(faces, batch, patch, rng, scale, deg)
        if not use_identity:
            return tf.constant(blurred), tf.constant(sharp)
        picks = [id_faces[int(rng.integers(len(id_faces)))] for _ in range(id_batch_size)]
        id_blurred = [data.degrade(p.face, random_motion_kernel(rng), rng, deg) for p in picks]
        return (tf.constant(blurred), tf.constant(sharp), tf.constant(data.to_unit(np.stack(id_blurred))),
                tf.constant(data.to_unit(np.stack([p.face for p in picks]))),
                tf.constant(np.stack([p.transform for p in picks])))

    if args.bench:
        for label, fn in (("content", content_step), ("gan", gan_step)):
            fn(*next_batch())
            t0 = time.perf_counter()
            for _ in range(args.bench):
                fn(*next_batch())
            print(f"{label}: {(time.perf_counter() - t0) / args.bench:.3f} s/step (batch {batch}, patch {patch})")
        return 0

    val_blurred, val_clean, val_sharp = data.validation_set(config.get("val_count", 40), config.get("val_seed", 4242))
    # With "val_clean", the same faces and kernels without noise are scored too and the checkpoint is chosen on
    # the mean of both (a model trained partly on clean blur must not be picked on noisy inputs alone).
    if not config.get("val_clean"):
        val_clean = None
    predict = tf.function(lambda x: gen(x, training=False), reduce_retracing=True)

    def restore(blurred: np.ndarray) -> np.ndarray:
        """The generator's uint8 output for a uint8 stack, in batches of 8."""
        outs = []
        for i in range(0, len(blurred), 8):
            outs.append(data.from_unit(predict(tf.constant(data.to_unit(blurred[i : i + 8]))).numpy()))
        return np.concatenate(outs)

    identity_line = None
    if use_identity or config.get("val_identity"):
        # Identity on the val identities: blurred (with noise) vs restored, embedding distance to the sharp face.
        # The sharp descriptors and the blurred inputs' distance do not change during training: computed once.
        from enhancement.embed_tf import describe_chips_tf

        from .deblur import identity

        id_val_faces = identity.identity_faces("val", 2, limit=config.get("val_count", 40))
        id_rng = np.random.default_rng(config.get("val_seed", 4242) + 1)
        id_blurred = np.stack([data.degrade(f.face, random_motion_kernel(id_rng), id_rng) for f in id_val_faces])
        id_transforms = np.stack([f.transform for f in id_val_faces])

        def id_distance(images: np.ndarray) -> float:
            vectors = describe_chips_tf(identity.numpy_chips(images, id_transforms))
            return float(np.linalg.norm(vectors - id_ref, axis=1).mean())

        id_ref = describe_chips_tf(identity.numpy_chips(np.stack([f.face for f in id_val_faces]), id_transforms))
        id_before = id_distance(id_blurred)

        def identity_line() -> str:
            return (f"validation identity distance to sharp: blurred {id_before:.4f}, "
                    f"restored {id_distance(restore(id_blurred)):.4f}")

    input_psnr = {"noisy": psnr_uint8(val_blurred, val_sharp)}
    if val_clean is not None:
        input_psnr["clean"] = psnr_uint8(val_clean, val_sharp)

    def validate() -> float:
        if identity_line is not None:
            _log(log_path, identity_line())
        noisy = psnr_uint8(restore(val_blurred), val_sharp)
        if val_clean is None:
            return noisy
        clean = psnr_uint8(restore(val_clean), val_sharp)
        _log(log_path, f"validation noisy {noisy:.2f} dB (input {input_psnr['noisy']:.2f}), "
             f"clean {clean:.2f} dB (input {input_psnr['clean']:.2f})")
        return (noisy + clean) / 2

    state = {"step": 0, "best_psnr": -1.0, "best_step": None}
    if args.resume and (run_dir / "state.json").exists():
        state = json.loads((run_dir / "state.json").read_text())
        gen.load_weights(run_dir / "last_gen.weights.h5")
        d_patch.load_weights(run_dir / "last_dpatch.weights.h5")
        d_global.load_weights(run_dir / "last_dglobal.weights.h5")
        opt_state = np.load(run_dir / "last_opt.npz")
        for i, v in enumerate(g_opt.variables):
            v.assign(opt_state[f"g{i}"])
        for i, v in enumerate(d_opt.variables):
            v.assign(opt_state[f"d{i}"])
        rng.bit_generator.state = state["rng"]
        _log(log_path, f"resumed at step {state['step']} (best {state['best_psnr']:.2f} dB at {state['best_step']}), "
             f"validation blurred PSNR {input_psnr['noisy']:.2f} dB")
    else:
        (run_dir / "config.json").write_text(json.dumps(config, indent=2))
        if config.get("init"):
            # Continue from committed weights (a later, longer run of the same generator): verified like any load.
            from enhancement.weights import verified_path

            gen.load_weights(verified_path(Path(config["init"]).name))
            _log(log_path, f"generator initialised from {config['init']}: validation PSNR {validate():.2f} dB")
        _log(log_path, f"start {name}: {gen.count_params()} generator parameters, {len(faces)} training faces, "
             f"validation blurred PSNR {input_psnr['noisy']:.2f} dB")

    def checkpoint() -> None:
        gen.save_weights(run_dir / "last_gen.weights.h5")
        d_patch.save_weights(run_dir / "last_dpatch.weights.h5")
        d_global.save_weights(run_dir / "last_dglobal.weights.h5")
        arrays = {f"g{i}": v.numpy() for i, v in enumerate(g_opt.variables)}
        arrays |= {f"d{i}": v.numpy() for i, v in enumerate(d_opt.variables)}
        np.savez(run_dir / "last_opt.npz", **arrays)
        state["rng"] = rng.bit_generator.state
        (run_dir / "state.json").write_text(json.dumps(state))

    sums = np.zeros(5)
    t0 = time.perf_counter()
    count = 0
    while state["step"] < total:
        step_fn = content_step if state["step"] < warmup else gan_step
        sums += np.array([float(v) for v in step_fn(*next_batch())])
        count += 1
        state["step"] += 1
        step = state["step"]
        if step % config.get("log_every", 50) == 0:
            m = sums / count
            ident = f"identity {m[4]:.4f} " if use_identity else ""
            _log(log_path, f"step {step}/{total} pixel {m[0]:.4f} 1-ssim {m[1]:.4f} adv {m[2]:.4f} d {m[3]:.4f} "
                 f"{ident}lr {float(g_opt.learning_rate):.2e} {(time.perf_counter() - t0) / count:.3f} s/step")
            sums[:] = 0
            count = 0
            t0 = time.perf_counter()
        if step % config["val_every"] == 0 or step == total:
            score = validate()
            phase = "content" if step <= warmup else "gan"
            if score > state["best_psnr"]:
                state.update(best_psnr=score, best_step=step, best_phase=phase)
                gen.save_weights(run_dir / "best.weights.h5")
                (run_dir / "best.json").write_text(json.dumps({"step": step, "val_psnr": score, "phase": phase}))
            _log(log_path, f"validation step {step} ({phase}): PSNR {score:.2f} dB "
                 f"(best {state['best_psnr']:.2f} at {state['best_step']})")
            checkpoint()
            t0 = time.perf_counter()
    _log(log_path, "done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

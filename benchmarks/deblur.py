"""Face deblurring figures: our weights vs the blurred input vs classical baselines, on held-out LFW faces.

    python -m benchmarks.deblur [--faces 200] [--threads 2]   # prints tables, writes docs/benchmarks/deblur.md

Protocol: sharp faces are the centre 128x128 crops of the first image of the first ``--faces`` LFW *eval*
identities (never used in training or validation). Face i is blurred with held-out kernel ``i % 48``
(``heldout_kernels()``, own seed) or Levin kernel ``i % 8``, either alone ("blur") or followed by the training
noise model ("blur+noise+JPEG": Gaussian/Poisson noise and JPEG, seeded). PSNR (dB) and SSIM on the whole uint8
BGR image. Baselines: unsharp masking (Gaussian sigma 1.5, amount 1.0) and Richardson-Lucy with the *true*
kernel (20 iterations, reflect-padded; an OpenCV implementation of skimage's update, checked against skimage in
``tests/test_deblur_benchmark.py``): a non-blind method given information the network never has.
Identity: dlib ResNet face-embedding distance to the sharp original (dlib's same-person threshold is 0.6), with
the face box found once on the sharp image and reused for every version, so only the pixels differ.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "deblur.md"
FIGURE = ROOT / "docs" / "benchmarks" / "deblur_examples.jpg"
RL_ITERATIONS = 20


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = max(float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)), 1e-10)
    return 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def unsharp(image: np.ndarray, sigma: float = 1.5, amount: float = 1.0) -> np.ndarray:
    soft = cv2.GaussianBlur(image.astype(np.float32), (0, 0), sigma)
    return np.clip(np.rint(image + amount * (image - soft)), 0, 255).astype(np.uint8)


def richardson_lucy(image: np.ndarray, kernel: np.ndarray, iterations: int) -> np.ndarray:
    """Richardson-Lucy deconvolution with the true kernel, all channels at once.

    The same multiplicative update as ``skimage.restoration.richardson_lucy`` (estimate starts at 0.5, 1e-12 guard
    on the ratio, clipped to [0, 1] at the end), written with OpenCV filters because skimage's took ~1 s per face
    here; borders are reflect-padded (skimage pads with zeros, which darkens and rings them).
    ``test_deblur_benchmark`` checks it against skimage away from the borders.
    """
    pad = kernel.shape[0]
    x = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT).astype(np.float32) / 255.0
    k = kernel.astype(np.float32)
    conv = np.ascontiguousarray(k[::-1, ::-1])  # filter2D correlates: flipped kernel convolves
    estimate = np.full_like(x, 0.5)
    for _ in range(iterations):
        blurred_estimate = cv2.filter2D(estimate, -1, conv, borderType=cv2.BORDER_REFLECT)
        ratio = x / np.maximum(blurred_estimate, 1e-12)
        estimate = estimate * cv2.filter2D(ratio, -1, k, borderType=cv2.BORDER_REFLECT)
    out = np.clip(estimate[pad:-pad, pad:-pad], 0.0, 1.0)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


class Embedder:
    """128-d dlib ResNet embeddings at a given box: ``enhancement.embed`` when present, else dlib the same way."""

    def __init__(self) -> None:
        import dlib

        self.detector = dlib.get_frontal_face_detector()
        try:
            from enhancement.embed import embed_face

            self._embed = lambda image, box: np.asarray(embed_face(image, box=box), np.float32)
            self.source = "enhancement.embed.embed_face"
        except ImportError:
            import importlib.util

            spec = importlib.util.find_spec("face_recognition_models")
            models = Path(next(iter(spec.submodule_search_locations))) / "models"
            shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
            net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

            def embed(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
                rgb = np.ascontiguousarray(image[..., ::-1])
                x, y, w, h = box
                landmarks = shape(rgb, dlib.rectangle(x, y, x + w, y + h))
                return np.asarray(net.compute_face_descriptor(rgb, landmarks), np.float32)

            self._embed = embed
            self.source = "dlib directly (shape_predictor_5 + dlib_face_recognition_resnet_model_v1)"

    def box(self, sharp: np.ndarray) -> tuple[int, int, int, int] | None:
        found = self.detector(np.ascontiguousarray(sharp[..., ::-1]), 1)
        if not found:
            return None
        r = max(found, key=lambda r: r.width() * r.height())
        return (r.left(), r.top(), r.width(), r.height())

    def __call__(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        return self._embed(image, box)


def evaluate(faces, kernels, noisy: bool, seed: int, embedder: Embedder | None, compare: tuple[str, ...] = ()):
    """Scores per method; ``compare``: other weights files run on the same inputs (rows ``ours: <name>``)."""
    from enhancement.deblur import deblur_image
    from research.blur_kernels import apply_kernel
    from research.deblur.data import degrade

    rng = np.random.default_rng(seed)
    others = {f"ours: {w.removesuffix('.weights.h5')}": w for w in compare}
    methods = ["blurred", "unsharp", f"RL-{RL_ITERATIONS} (true kernel)", "ours", *others]
    scores = {m: {"psnr": [], "ssim": [], "dist": []} for m in methods}
    per_kernel: dict[int, list[tuple[float, ...]]] = {}  # PSNR of blurred, ours, then each compared model
    examples = []
    for i, face in enumerate(faces):
        k_index = i % len(kernels)
        kernel = kernels[k_index]
        blurred = degrade(face, kernel, rng) if noisy else apply_kernel(face, kernel)
        outputs = {"blurred": blurred, "unsharp": unsharp(blurred),
                   methods[2]: richardson_lucy(blurred, kernel, RL_ITERATIONS), "ours": deblur_image(blurred)}
        outputs |= {label: deblur_image(blurred, w) for label, w in others.items()}
        box = embedder.box(face) if embedder else None
        ref = embedder(face, box) if box else None
        for m, out in outputs.items():
            scores[m]["psnr"].append(psnr(out, face))
            scores[m]["ssim"].append(ssim(out, face))
            if ref is not None:
                scores[m]["dist"].append(float(np.linalg.norm(embedder(out, box) - ref)))
        per_kernel.setdefault(k_index, []).append(tuple(scores[m]["psnr"][-1] for m in ("blurred", "ours", *others)))
        if i < 4:
            examples.append([face, blurred, outputs[methods[2]], outputs["ours"]])
    return scores, per_kernel, examples


def table(title: str, scores: dict) -> list[str]:
    base = np.array(scores["blurred"]["psnr"])
    lines = [f"**{title}**", "", "| method | PSNR dB | gain vs blurred | faces improved | SSIM | embedding dist "
             "to sharp | same person (< 0.6) |", "|---|---|---|---|---|---|---|"]
    for m, s in scores.items():
        p = np.array(s["psnr"])
        d = np.array(s["dist"])
        dist = f"{d.mean():.3f}" if len(d) else "n/a"
        same = f"{np.mean(d < 0.6) * 100:.0f} % of {len(d)}" if len(d) else "n/a"
        lines.append(f"| {m} | {p.mean():.2f} | {p.mean() - base.mean():+.2f} | {np.mean(p > base) * 100:.0f} % | "
                     f"{np.mean(s['ssim']):.4f} | {dist} | {same} |")
    return lines + [""]


SIZE_BINS = ((5, 9), (11, 15), (17, 21), (23, 25))


def by_kernel_size(per_kernel: dict, kernels, labels: list[str]) -> list[str]:
    """Mean PSNR gain over the blurred input per band of kernel sizes: where a model helps and where it hurts."""
    head = "| kernel size | faces | blurred PSNR | " + " | ".join(f"{m} gain" for m in labels) + " |"
    lines = [head, "|" + "---|" * (3 + len(labels))]
    for lo, hi in SIZE_BINS:
        rows = [r for k, pairs in per_kernel.items() if lo <= kernels[k].shape[0] <= hi for r in pairs]
        if not rows:
            continue
        arr = np.array(rows)
        gains = " | ".join(f"{(arr[:, j] - arr[:, 0]).mean():+.2f}" for j in range(1, arr.shape[1]))
        lines.append(f"| {lo}-{hi} px | {len(arr)} | {arr[:, 0].mean():.2f} | {gains} |")
    return lines + [""]


def timings(sizes=(64, 128, 256), repeats: int = 20) -> list[str]:
    from enhancement.deblur import deblur_image, load_generator
    from research.deblur.data import load_faces

    face = load_faces("eval", limit=1)[0]
    lines = ["| face size | median ms per face | min ms |", "|---|---|---|"]
    for size in sizes:
        image = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
        for _ in range(3):
            deblur_image(image)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            deblur_image(image)
            times.append((time.perf_counter() - t0) * 1000)
        lines.append(f"| {size}x{size} | {np.median(times):.1f} | {np.min(times):.1f} |")
    gen = load_generator()
    size_mb = (ROOT / "weights" / gen.weights).stat().st_size / 1e6
    return lines + ["", f"Generator parameters: **{gen.parameters:,}**; weights file {size_mb:.2f} MB "
                    f"(`{gen.weights}`, sha256 `{gen.weights_sha256}`)."]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-embedding", action="store_true")
    ap.add_argument("--compare", action="append", default=[], metavar="WEIGHTS",
                    help="another deblur weights file under weights/ to score on the same inputs (repeatable)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from research.blur_kernels import heldout_kernels, levin_kernels
    from research.deblur.data import load_faces

    faces = load_faces("eval", per_identity=1, limit=args.faces)
    embedder = None if args.no_embedding else Embedder()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    compare = "".join(f" --compare {w}" for w in args.compare)
    command = f"python -m benchmarks.deblur --faces {args.faces} --threads {args.threads}{compare}"
    out = [f"Generated by `{command}` on {started} "
           f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, load average at start "
           f"{os.getloadavg()[0]:.1f}); {len(faces)} held-out LFW faces (eval identities), 128x128.", ""]
    if embedder:
        out += [f"Embedder: {embedder.source}.", ""]
    figure_rows = []
    for name, kernels in (("held-out synthetic kernels (48, seed 7702026)", heldout_kernels()),
                          ("Levin et al. recorded kernels (8)", levin_kernels())):
        for noisy in (False, True):
            title = f"{name}, {'blur+noise+JPEG' if noisy else 'blur only'}"
            t0 = time.perf_counter()
            scores, per_kernel, examples = evaluate(faces, kernels, noisy, seed=99, embedder=embedder,
                                                    compare=tuple(args.compare))
            lines = table(title, scores)
            labels = ["ours", *(m for m in scores if m.startswith("ours: "))]
            if "Levin" not in name:
                lines += by_kernel_size(per_kernel, kernels, labels)
            print("\n".join(lines), f"({time.perf_counter() - t0:.0f} s)", flush=True)
            out += lines
            if "Levin" in name:
                rows = ["| Levin kernel | size | blurred PSNR | ours PSNR | gain |", "|---|---|---|---|---|"]
                for k, pairs in sorted(per_kernel.items()):
                    b, o = np.mean([p[0] for p in pairs]), np.mean([p[1] for p in pairs])
                    rows.append(f"| {k + 1} | {kernels[k].shape[0]} | {b:.2f} | {o:.2f} | {o - b:+.2f} |")
                out += rows + [""]
                print("\n".join(rows), flush=True)
            if noisy and not figure_rows:
                figure_rows = examples
    timing = timings()
    print("\n".join(timing))
    out += [f"**Time per face** (`deblur_image`, {args.threads} TensorFlow intra-op threads, shared machine):", ""]
    out += timing
    if figure_rows:
        FIGURE.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(FIGURE), np.vstack([np.hstack(r) for r in figure_rows]), [cv2.IMWRITE_JPEG_QUALITY, 92])
    marker = "<!-- generated -->"
    head = DOC.read_text().split(marker)[0] if DOC.exists() else "# Face deblurring benchmark\n\n"
    DOC.write_text(head + marker + "\n\n" + "\n".join(out) + "\n")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure the quality figures on real LFW face crops and degraded copies, and pick the policy thresholds.

Run: ``python benchmarks/quality_thresholds.py [--n 300]``. Prints the distributions and the threshold that best
separates clean from degraded crops (maximum balanced accuracy) for luminance and blur. The chosen numbers are
copied into ``enhancement.quality.QualityPolicy`` and ``docs/enhancement.md`` by hand, so a change in the data or
the measure shows up as a diff to review.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enhancement.datasets import lfw_images, split_identities  # noqa: E402
from enhancement.quality import blur_measure  # noqa: E402

LFW_FACE_BOX = (68, 67, 115, 115)  # median Haar box on the 250x250 deep-funneled images (benchmarks/enhancement.py)


def lfw_eval_sample(n: int, seed: int = 0) -> list[Path]:
    """A fixed sample of LFW images from evaluation identities only (never those the SR/deblur models saw)."""
    paths = [p for ident in split_identities("eval") for p in lfw_images(ident)]
    random.Random(seed).shuffle(paths)
    return paths[:n]


def face_crop(image: np.ndarray) -> np.ndarray:
    x, y, w, h = LFW_FACE_BOX
    return image[y:y + h, x:x + w]


def darken(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Low light: scale linear-light intensity by 5-20 %, back to sRGB-ish gamma, add sensor noise."""
    linear = (image.astype(np.float32) / 255.0) ** 2.2 * rng.uniform(0.05, 0.20)
    out = linear ** (1 / 2.2) * 255.0 + rng.normal(0, rng.uniform(1.0, 4.0), image.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def motion_kernel(length: int, angle: float) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1.0)
    k = cv2.warpAffine(k, rot, (length, length))
    return k / k.sum()


def blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half Gaussian defocus (sigma 1.5-3 px), half linear motion (7-15 px) on the 250 px frame."""
    if rng.random() < 0.5:
        return cv2.GaussianBlur(image, (0, 0), rng.uniform(1.5, 3.0))
    return cv2.filter2D(image, -1, motion_kernel(int(rng.integers(7, 16)), rng.uniform(0, 180)))


def shrink(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = int(rng.integers(20, 61))
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def best_threshold(clean: np.ndarray, degraded: np.ndarray) -> tuple[float, float]:
    """Threshold t (degraded when value < t) with the highest balanced accuracy."""
    candidates = np.unique(np.concatenate([clean, degraded]))
    best = (0.0, 0.0)
    for t in candidates:
        acc = 0.5 * ((clean >= t).mean() + (degraded < t).mean())
        if acc > best[1]:
            best = (float(t), float(acc))
    return best


def describe(name: str, values: np.ndarray) -> str:
    q = np.percentile(values, [1, 5, 50, 95, 99])
    return f"| {name} | {len(values)} | " + " | ".join(f"{v:.3f}" for v in q) + " |"


def size_study(n_pairs: int, sizes: tuple[int, ...] = (16, 24, 32, 48, 64, 80, 115)) -> None:
    """How small can a probe face be before the embedder fails? LFW pairsDevTest: image A at full size (as an
    enrolled photo), image B shrunk so its face is ``size`` px wide, both embedded, verification accuracy at the
    calibrated threshold. This sets ``QualityPolicy.small_size``."""
    from enhancement.datasets import lfw_dir, lfw_pairs
    from enhancement.embed import embed_face
    from enhancement.match import DEFAULT_THRESHOLD
    from research.calibrate_matcher import LFW_FALLBACK_BOX, lfw_embeddings

    pairs = lfw_pairs("pairsDevTest")
    pairs = pairs[: n_pairs // 2] + pairs[-(n_pairs // 2):]
    full, _ = lfw_embeddings({p for a, b, _ in pairs for p in (a, b)})
    root = lfw_dir()
    same = np.array([s for _, _, s in pairs])
    print(f"threshold {DEFAULT_THRESHOLD}; {len(pairs)} pairs ({same.sum()} same)")
    print("| probe face px | accuracy | TAR (same accepted) | FAR (different accepted) |\n|---|---|---|---|")
    for size in sizes:
        d = []
        for a, b, _ in pairs:
            image = cv2.imread(str(b))
            f = size / LFW_FACE_BOX[2]
            small = cv2.resize(image, (round(250 * f), round(250 * f)), interpolation=cv2.INTER_AREA)
            box = tuple(round(v * f) for v in LFW_FALLBACK_BOX)
            d.append(np.linalg.norm(full[str(a.relative_to(root))] - embed_face(small, box)))
        d = np.array(d)
        acc = ((d < DEFAULT_THRESHOLD) == same).mean()
        tar, far = (d[same] < DEFAULT_THRESHOLD).mean(), (d[~same] < DEFAULT_THRESHOLD).mean()
        print(f"| {size} | {acc:.3f} | {tar:.3f} | {far:.3f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--size-study", type=int, default=0, metavar="PAIRS",
                        help="instead: embedder accuracy against probe face size on this many LFW pairs")
    args = parser.parse_args()
    if args.size_study:
        size_study(args.size_study)
        return
    rng = np.random.default_rng(0)
    lum = {k: [] for k in ("clean", "dark")}
    blr = {k: [] for k in ("clean", "dark", "blurred", "small")}
    for path in lfw_eval_sample(args.n):
        image = cv2.imread(str(path))
        clean = face_crop(image)
        dark = face_crop(darken(image, rng))
        blurred = face_crop(blur(image, rng))
        small = shrink(clean, rng)
        lum["clean"].append(cv2.cvtColor(clean, cv2.COLOR_BGR2GRAY).mean())
        lum["dark"].append(cv2.cvtColor(dark, cv2.COLOR_BGR2GRAY).mean())
        for key, crop in (("clean", clean), ("dark", dark), ("blurred", blurred), ("small", small)):
            blr[key].append(blur_measure(crop))
    lum = {k: np.array(v) for k, v in lum.items()}
    blr = {k: np.array(v) for k, v in blr.items()}
    print("| measure / set | n | p1 | p5 | median | p95 | p99 |\n|---|---|---|---|---|---|---|")
    for k, v in lum.items():
        print(describe(f"luminance / {k}", v))
    for k, v in blr.items():
        print(describe(f"blur / {k}", v))
    t, acc = best_threshold(lum["clean"], lum["dark"])
    print(f"\nluminance threshold {t:.1f}: balanced accuracy {acc:.4f}")
    t, acc = best_threshold(blr["clean"], blr["blurred"])
    print(f"blur threshold {t:.4f}: balanced accuracy {acc:.4f} (clean vs blurred)")
    print(f"  dark crops flagged blurred at that threshold: {(blr['dark'] < t).mean():.3f}")


if __name__ == "__main__":
    main()

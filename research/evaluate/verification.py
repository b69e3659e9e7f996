"""Section 2 of the report: face verification on LFW ``pairsDevTest`` with the second image of each pair degraded.

For every pair, the first image is the clean reference ("gallery") and the second is degraded, cropped as the
product crops faces, treated by each probe variant and embedded. Genuine scores are the official same-person pairs;
impostor scores are every cross-identity (reference, probe) combination (see ``metrics.cross_impostors``).
"""

from __future__ import annotations

import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from enhancement.bicubic import luma

from .. import degrade
from .cache import EmbeddingCache, ProbeCache
from .probes import LFW_SIZE, VariantImage, face_crop, make_variant, probe_embedder, treatment


def probe_seed(seed: int, index: int, degradation: str) -> int:
    """Each (pair, degradation) gets its own noise and kernel, the same in every run with this ``seed``."""
    return zlib.crc32(f"{seed}:{index}:{degradation}".encode())


def load(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    if image is None:
        raise FileNotFoundError(f"unreadable image {path}")
    return image


@dataclass
class VerificationResult:
    pairs: list[tuple[Path, Path, bool]]
    reference: np.ndarray  # (N, 128) clean first images
    probes: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (degradation, variant) -> (N, 128)
    same_as_raw: dict[tuple[str, str], int] = field(default_factory=dict)  # how many probes were left unchanged
    mse: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    ssim: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    enhance_ms: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    auto_steps: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    unavailable: dict[str, str] = field(default_factory=dict)  # variant -> why it could not run
    not_applicable: set[tuple[str, str]] = field(default_factory=set)  # (degradation, variant) never run
    examples: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # first genuine pair's probe images
    elapsed_s: float = 0.0

    @property
    def same(self) -> np.ndarray:
        return np.array([s for _, _, s in self.pairs], dtype=bool)

    @property
    def reference_ids(self) -> list[str]:
        return [a.parent.name for a, _, _ in self.pairs]

    @property
    def probe_ids(self) -> list[str]:
        return [b.parent.name for _, b, _ in self.pairs]

    def distances(self, degradation: str, variant: str) -> np.ndarray:
        return np.linalg.norm(self.reference - self.probes[(degradation, variant)], axis=1)


def select_pairs(pairs: list[tuple[Path, Path, bool]], count: int, seed: int) -> list[tuple[Path, Path, bool]]:
    """A seeded sample with as many same-person as different-person pairs, alternating same/different.

    Samples are nested: every prefix of even length of a larger sample is the smaller sample, so a smaller run
    reuses the cached embeddings of a larger one, and an interrupted run has finished a balanced sample.
    """
    orders = []
    for flag in (True, False):
        idx = np.array([i for i, p in enumerate(pairs) if p[2] == flag])
        orders.append(idx[np.random.default_rng([seed, int(flag)]).permutation(len(idx))].tolist())
    interleaved = [i for duo in zip(*orders, strict=False) for i in duo]
    return [pairs[i] for i in interleaved[: count - count % 2]]


def _fidelity(reference_crop: np.ndarray, out: VariantImage) -> tuple[float, float]:
    """MSE / SSIM of the luma at the clean crop's resolution (outputs resampled to it, bicubic up / area down).

    MSE rather than PSNR per probe: the report's PSNR is that of the mean MSE, which stays finite when some
    probes are left untouched (PSNR = inf)."""
    from skimage.metrics import structural_similarity

    h, w = reference_crop.shape[:2]
    interp = cv2.INTER_CUBIC if out.image.shape[1] < w else cv2.INTER_AREA
    img = out.image if out.image.shape[:2] == (h, w) else cv2.resize(out.image, (w, h), interpolation=interp)
    y_ref, y_img = luma(reference_crop), luma(img)
    mse = float(np.mean((y_ref.astype(np.float64) - y_img.astype(np.float64)) ** 2))
    return mse, float(structural_similarity(y_ref, y_img, data_range=255))


def run_verification(pairs: list[tuple[Path, Path, bool]], degradations: list[str], variants: list[str],
                     cache: EmbeddingCache, seed: int, progress: Any = None,
                     alt_policy: Any = None, probe_cache: ProbeCache | None = None) -> VerificationResult:
    t0 = time.perf_counter()
    n = len(pairs)
    reference = np.zeros((n, 128), dtype=np.float32)
    result = VerificationResult(pairs=pairs, reference=reference)
    for key in ((d, v) for d in degradations for v in variants):
        result.probes[key] = np.zeros((n, 128), dtype=np.float32)
        result.same_as_raw[key] = 0
    example_index = next((i for i, p in enumerate(pairs) if p[2]), 0)
    for i, (a, b, _) in enumerate(pairs):
        crop_a, box_a = face_crop(load(a), 1.0)
        reference[i] = cache.embed(crop_a, box_a)
        clean_b = load(b)
        clean_crop, _ = face_crop(clean_b, 1.0)
        for deg in degradations:
            degraded = degrade.degrade(clean_b, deg, probe_seed(seed, i, deg))
            crop, box = face_crop(degraded.image, degraded.image.shape[1] / LFW_SIZE)
            auto = None
            for variant in sorted(variants, key=lambda v: v != "auto"):  # auto first: single steps may reuse it
                key = (deg, variant)
                if variant in result.unavailable or key in result.not_applicable:
                    continue
                pkey = ProbeCache.key(crop, box, variant, alt_policy if variant == "auto_alt" else None,
                                      _weights_digest(variant))
                hit = probe_cache.get(pkey) if probe_cache is not None and i != example_index else None
                if hit is not None:
                    _record(result, key, hit, i)
                    continue
                try:
                    if variant in ("auto_lime_denoise", "student_auto") and auto is None:  # auto came from cache
                        auto = make_variant("auto", crop, box, downscaled=degraded.scale < 1)
                    if variant == "student_auto":
                        out = auto
                    else:
                        out = make_variant(variant, crop, box, downscaled=degraded.scale < 1, auto=auto,
                                           policy=alt_policy)
                except Exception as exc:  # a step whose weights are absent: report it, keep the rest of the run
                    from enhancement.pipeline import StepUnavailable
                    from enhancement.weights import WeightsError

                    if not isinstance(exc, (WeightsError, StepUnavailable, ImportError)):
                        raise
                    result.unavailable[variant] = f"{type(exc).__name__}: {exc}"
                    continue
                if out is None:
                    result.not_applicable.add(key)
                    continue
                if variant == "auto":
                    auto = out
                mse, ssim = _fidelity(clean_crop, out)
                vector = cache.embed(out.image, out.box, probe_embedder(variant))
                entry = {"vector": vector, "mse": mse, "ssim": ssim, "ms": out.elapsed_ms,
                         "steps": list(out.steps), "skipped": list(out.skipped), "same_as_raw": out.same_as_raw}
                if probe_cache is not None:
                    probe_cache.put(pkey, entry)
                _record(result, key, entry, i)
                if i == example_index:
                    result.examples[key] = out.image
            if progress is not None:
                progress.update(1)
    for variant in result.unavailable:
        for deg in degradations:
            result.probes.pop((deg, variant), None)
    for key in result.not_applicable:
        result.probes.pop(key, None)
    cache.save()
    if probe_cache is not None:
        probe_cache.save()
    result.elapsed_s = time.perf_counter() - t0
    return result


def _weights_digest(variant: str) -> str:
    """The manifest entries a variant can load (none for the classical ones, all for the pipeline)."""
    from enhancement.weights import read_manifest

    manifest = read_manifest()
    if probe_embedder(variant) is not None:  # the student's weights, and what the treatment itself loads
        student = "|".join(f"{k}={v}" for k, v in sorted(manifest.items()) if k.startswith("embedder_student"))
        return f"{student}|{_weights_digest(treatment(variant))}"
    prefix = {"raw": None, "bicubic": None, "lime": None, "lime_denoise": None, "deblur": "deblur", "srcnn": "srcnn"}
    if variant in prefix and prefix[variant] is None:
        return ""
    wanted = prefix.get(variant)
    # the pipeline never loads the probe embedder's weights: they key only the student's variants (above)
    return "|".join(f"{k}={v}" for k, v in sorted(manifest.items())
                    if (wanted is None and not k.startswith("embedder_student")) or (wanted and k.startswith(wanted)))


def _record(result: VerificationResult, key: tuple[str, str], entry: dict[str, Any], index: int) -> None:
    result.probes[key][index] = entry["vector"]
    result.same_as_raw[key] += int(entry["same_as_raw"])
    result.mse[key].append(entry["mse"])
    result.ssim[key].append(entry["ssim"])
    result.enhance_ms[key].append(entry["ms"])
    if key[1] == "auto":
        chosen = "+".join(entry["steps"]) or "none"
        skipped = f" (wanted but not available: {'+'.join(entry['skipped'])})" if entry["skipped"] else ""
        result.auto_steps[key[0]][chosen + skipped] += 1

"""Training data for the degradation-robust student embedder (``research.train_student``).

Faces: LFW images of the **train** split identities (``weights/splits``: View 1 ``peopleDevTrain``, never a
``pairsDevTest`` image or identity) and the 2,000 unlabelled UTKFace-style crops of ``shared/data/utkface_pool``;
validation uses the 20 **val** split identities. No identity labels are used.

For each face we keep, once (``prepare``): the 2x3 map from dlib's aligned 150x150 chip to the image (dlib's HOG
detector + 5-point landmarks, ``enhancement.embed.chip_to_image_affine``) and the teacher's descriptor of the
clean chip (dlib's ResNet, ``enhancement.embed_tf``). Training draws the CCTV chain on the **whole image** in the
order a camera applies it (motion blur -> down-sampling with the camera's own resampling -> low light with shot and
read noise -> JPEG), then cuts the chip from the degraded image with the clean map scaled to its size plus a
random similarity jitter that grows with the down-scaling factor (landmarks found on a poor face are off by a few
pixels). Blur kernels come from ``research.blur_kernels.random_motion_kernel`` with a training seed: the
evaluation's held-out kernels (``HELDOUT_SEED``) are never drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

CHIP = 150
TRAIN_KERNEL_SEED = 31_415
VAL_KERNEL_SEED = 27_182
RESAMPLERS = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC, "matlab")


@dataclass
class FaceSet:
    paths: list[str]
    maps: np.ndarray  # (N, 2, 3) chip -> image
    teacher: np.ndarray  # (N, 128) dlib descriptor of the clean chip


def face_paths(split: str) -> list[Path]:
    from enhancement.datasets import assert_disjoint, lfw_images, shared_data_dir, split_identities

    assert_disjoint()
    paths = [p for identity in split_identities(split) for p in lfw_images(identity)]
    if split == "train":
        paths += sorted((shared_data_dir() / "utkface_pool").rglob("*.jpg"))
    return paths


def prepare(paths: list[Path], log: Any = print) -> FaceSet:
    """Alignment maps and teacher descriptors of every face dlib's HOG detector finds (others are skipped)."""
    from enhancement.embed import aligned_chips, chip_to_image_affine
    from enhancement.embed_tf import describe_chips_tf

    kept, maps, chips = [], [], []
    for i, path in enumerate(paths):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        m = chip_to_image_affine(image)
        if m is None:
            continue
        kept.append(str(path))
        maps.append(m)
        chips.append(warp_chip(image, m))
        if (i + 1) % 500 == 0:
            log(f"prepared {i + 1}/{len(paths)} images, {len(kept)} faces")
    # the teacher sees exactly the chip the student's clean copy sees (the same bilinear warp)
    teacher = np.concatenate([describe_chips_tf(chips[i:i + 256]) for i in range(0, len(chips), 256)])
    # and dlib's own chip agrees: the gallery is built with dlib's get_face_chip
    probe = [aligned_chips(cv2.imread(p), [_box_of(m)])[0][0] for p, m in zip(kept[:8], maps[:8], strict=True)]
    gap = float(np.linalg.norm(describe_chips_tf(probe) - teacher[:8], axis=1).mean()) if probe else 0.0
    log(f"{len(kept)} faces of {len(paths)} images; warp vs dlib chip descriptor gap {gap:.3f}")
    return FaceSet(kept, np.stack(maps).astype(np.float64), teacher.astype(np.float32))


def _box_of(m: np.ndarray) -> tuple[int, int, int, int]:
    corners = m @ np.array([[0, 0, 1], [CHIP - 1, 0, 1], [0, CHIP - 1, 1], [CHIP - 1, CHIP - 1, 1]]).T
    x0, y0 = corners.min(axis=1)
    x1, y1 = corners.max(axis=1)
    pad = 0.15 * (x1 - x0)  # the chip has 25 % padding around the face; the landmark box is inside it
    return int(x0 + pad), int(y0 + pad), int(x1 - x0 - 2 * pad), int(y1 - y0 - 2 * pad)


def warp_chip(image: np.ndarray, chip_to_image: np.ndarray, jitter: np.ndarray | None = None) -> np.ndarray:
    """The 150x150 RGB chip cut from ``image`` (BGR) by ``chip_to_image`` (optionally composed with a chip-space
    similarity ``jitter``, 3x3), bilinear, as dlib's chip extraction interpolates."""
    m = np.vstack([chip_to_image, [0, 0, 1]])
    if jitter is not None:
        m = m @ jitter
    chip = cv2.warpAffine(image, m[:2], (CHIP, CHIP), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)
    return cv2.cvtColor(chip, cv2.COLOR_BGR2RGB)


def scaled_map(chip_to_image: np.ndarray, factor: float) -> np.ndarray:
    """The chip map for the image shrunk by ``factor`` (pixel centres: x_small = (x + 0.5) / factor - 0.5)."""
    m = chip_to_image / factor
    m[:, 2] += 0.5 / factor - 0.5
    return m


def similarity(rng: np.random.Generator, strength: float) -> np.ndarray:
    """A random chip-space similarity around the chip centre (rotation, scale, shift grow with ``strength``)."""
    angle = np.deg2rad(rng.normal(0, 2.0 * strength))
    scale = 1 + rng.normal(0, 0.02 * strength)
    shift = rng.normal(0, 1.5 * strength, 2)
    c = (CHIP - 1) / 2
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[cos, -sin, c - cos * c + sin * c + shift[0]],
                     [sin, cos, c - sin * c - cos * c + shift[1]],
                     [0, 0, 1]])


def resize(image: np.ndarray, factor: float, method: Any) -> np.ndarray:
    h, w = image.shape[:2]
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    if method == "matlab":
        from .degrade import downscale

        return downscale(image, factor)
    return cv2.resize(image, size, interpolation=method)


def low_light(image: np.ndarray, rng: np.random.Generator, gain: float, photons: float, read: float,
              agc: bool) -> np.ndarray:
    signal = image.astype(np.float32) / 255.0 * gain
    noisy = rng.poisson(signal * photons).astype(np.float32) / photons * 255.0
    noisy += rng.normal(0.0, read, size=image.shape).astype(np.float32)
    if agc:
        noisy /= gain
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def random_chain(rng: np.random.Generator, kernels: list[np.ndarray]) -> dict[str, Any]:
    """One random draw of the CCTV chain: which parts, and their parameters (at least one part)."""
    parts = {"blur": rng.random() < 0.5, "down": rng.random() < 0.6, "dark": rng.random() < 0.45,
             "jpeg": rng.random() < 0.6}
    if not any(parts.values()):
        parts[str(rng.choice(list(parts)))] = True
    chain: dict[str, Any] = {}
    if parts["blur"]:
        chain["kernel"] = kernels[int(rng.integers(len(kernels)))]
    if parts["down"]:
        chain["factor"] = float(np.exp(rng.uniform(np.log(2), np.log(8))))
        chain["resample"] = RESAMPLERS[int(rng.integers(len(RESAMPLERS)))]
    if parts["dark"]:
        chain["dark"] = (float(rng.uniform(0.08, 0.5)), float(np.exp(rng.uniform(np.log(80), np.log(1500)))),
                         float(rng.uniform(0.5, 4.0)), bool(rng.random() < 0.3))
    if parts["jpeg"]:
        chain["jpeg"] = int(rng.integers(20, 91))
    return chain


def apply_chain(image: np.ndarray, chain: dict[str, Any], rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Degrade ``image``; returns the degraded image and the factor its sides shrank by."""
    from .blur_kernels import apply_kernel
    from .degrade import jpeg

    out, factor = image, 1.0
    if "kernel" in chain:
        out = apply_kernel(out, chain["kernel"])
    if "factor" in chain:
        out = resize(out, chain["factor"], chain["resample"])
        factor = image.shape[1] / out.shape[1]
    if "dark" in chain:
        out = low_light(out, rng, *chain["dark"])
    if "jpeg" in chain:
        out = jpeg(out, chain["jpeg"])  # the evaluation's own encoder (research.degrade)
    return out, factor


def training_kernels(count: int = 2000, seed: int = TRAIN_KERNEL_SEED) -> list[np.ndarray]:
    from .blur_kernels import HELDOUT_SEED, random_motion_kernel

    if seed == HELDOUT_SEED:
        raise ValueError("the held-out evaluation kernels must never be used for training")
    rng = np.random.default_rng(seed)
    return [random_motion_kernel(rng) for _ in range(count)]


def degraded_chip(image: np.ndarray, chip_map: np.ndarray, chain: dict[str, Any],
                  rng: np.random.Generator, jitter: bool = True) -> np.ndarray:
    out, factor = apply_chain(image, chain, rng)
    m = scaled_map(chip_map, factor) if factor != 1.0 else chip_map
    strength = 0.5 + 0.25 * factor
    return warp_chip(out, m, similarity(rng, strength) if jitter else None)


# the fixed validation probes: name -> chain (the evaluation's own degradations, with validation seeds/kernels)
def validation_chains(kernels: list[np.ndarray]) -> dict[str, dict[str, Any]]:
    return {
        "clean": {},
        "x6": {"factor": 6.0, "resample": "matlab"},
        "low_light": {"dark": (0.25, 400.0, 2.0, False)},
        "blur": {"kernel": None},  # a validation kernel per face, see ``val_chip``
        "combined": {"kernel": None, "factor": 4.0, "resample": "matlab", "dark": (0.25, 400.0, 2.0, False),
                     "jpeg": 30},
    }


def val_chip(image: np.ndarray, chip_map: np.ndarray, name: str, index: int,
             kernels: list[np.ndarray]) -> np.ndarray:
    chain = dict(validation_chains(kernels)[name])
    if "kernel" in chain:
        chain["kernel"] = kernels[index % len(kernels)]
    rng = np.random.default_rng([VAL_KERNEL_SEED, index])
    return degraded_chip(image, chip_map, chain, rng, jitter=False)

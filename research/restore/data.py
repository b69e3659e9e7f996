"""Training and validation samples for the small-face restoration model: the CCTV chain at a quarter of the size.

A sample is cut from a deep-funneled LFW image (250 x 250, face centred) of a *train* identity:

- target: the clean ``TARGET`` x ``TARGET`` region around the face (jittered by a few pixels), the size of the
  margin crop the footage analysis takes of a ~115 px face;
- target exposure: when the chain darkens the input, the target is the clean region darkened by the same gain
  (the signal before the noise). The network removes blur, noise and compression and adds resolution; it does not
  guess how bright the scene was, which the input cannot tell it (a dark scene and an under-exposed one look alike).
  A first run that had to brighten too lost 7 dB on clean small faces. Dark faces are left to LIME and to the
  embedder, which copes with darkness without noise (``low_light`` probes: TAR 94 % raw);
- input: the same region after the chain a small CCTV face goes through, each part drawn per sample from the ranges
  of ``Chain`` (wider than, and including, the evaluation's fixed ``combined`` setting): motion blur at full
  resolution (random trajectory kernels, never the held-out evaluation kernels), MATLAB-bicubic x1/4, low light
  (gain, Poisson shot noise, read noise: ``research.degrade.low_light``), JPEG;
- the map from dlib's aligned 150 x 150 chip to the target's pixels, found once on the clean full image (HOG
  detector + 5 landmarks, as ``enhancement.embed`` aligns), for the identity term (``research.deblur.identity``).

Validation uses the *val* identities with the evaluation's ``combined`` parameters (gain 0.2-0.3, 400 photons at
white, read noise 2 DN, JPEG 30) and random (not held-out) kernels, plus the same faces only shrunk x1/4, so a
model that would damage clean small faces is seen. Images are ``uint8`` BGR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enhancement.bicubic import imresize
from enhancement.datasets import lfw_images, split_identities
from enhancement.embed import chip_to_image_affine

from .. import degrade
from ..blur_kernels import apply_kernel, random_motion_kernel
from ..deblur.data import _read

FACTOR = 4
TARGET = 192  # multiple of FACTOR; the footage analysis' 0.3-margin crop of a 115 px LFW face is ~184 px


@dataclass(frozen=True)
class Chain:
    """Per-sample ranges of the degradation chain (each part applied with its probability)."""

    blur_prob: float = 0.6
    light_prob: float = 0.75
    gain: tuple[float, float] = (0.15, 0.45)
    photons_at_white: tuple[float, float] = (150.0, 1500.0)
    read_noise_dn: tuple[float, float] = (0.5, 3.0)
    jpeg_prob: float = 0.75
    jpeg_quality: tuple[int, int] = (15, 70)
    jitter: int = 3  # target offset in steps of FACTOR px, each way


@dataclass(frozen=True)
class Face:
    image: np.ndarray  # uint8 BGR, the whole deep-funneled image
    affine: np.ndarray  # 2x3 float64, chip pixel -> image pixel


def load_faces(split: str, per_identity: int, limit: int | None = None) -> list[Face]:
    """LFW images of ``split``'s identities with their chip maps; images where dlib finds no face are skipped."""
    faces = []
    for identity in split_identities(split):
        for path in lfw_images(identity)[:per_identity]:
            image = _read(path)
            affine = chip_to_image_affine(image)
            if affine is not None:
                faces.append(Face(image, np.asarray(affine, np.float64)))
            if limit is not None and len(faces) >= limit:
                return faces
    return faces


def transform(affine: np.ndarray, left: int, top: int, flip: bool) -> np.ndarray:
    """The chip -> target-region map as the 8 numbers ``tf.raw_ops.ImageProjectiveTransformV3`` takes."""
    a = affine
    row0 = np.array([a[0, 0], a[0, 1], a[0, 2] - left])
    row1 = np.array([a[1, 0], a[1, 1], a[1, 2] - top])
    if flip:  # x -> TARGET - 1 - x
        row0 = np.array([-row0[0], -row0[1], TARGET - 1 - row0[2]])
    return np.array([*row0, *row1, 0.0, 0.0], np.float32)


def shrink(region: np.ndarray) -> np.ndarray:
    """MATLAB-bicubic x1/FACTOR of a float or uint8 region, rounded to uint8 (as ``degrade.downscale``)."""
    return np.clip(np.rint(imresize(region.astype(np.float64), 1.0 / FACTOR)), 0, 255).astype(np.uint8)


def darken(image: np.ndarray, gain: float) -> np.ndarray:
    """The clean signal at the exposure ``gain``, rounded to uint8 (what ``degrade.low_light`` adds noise to)."""
    return np.clip(np.rint(image.astype(np.float64) * gain), 0, 255).astype(np.uint8)


def sample(face: Face, rng: np.random.Generator, chain: Chain = Chain()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input uint8 TARGET/4 square, target uint8 TARGET square, chip transform (8,)) for one training face."""
    h, w = face.image.shape[:2]
    top = (h - TARGET) // 2 + FACTOR * int(rng.integers(-chain.jitter, chain.jitter + 1))
    left = (w - TARGET) // 2 + FACTOR * int(rng.integers(-chain.jitter, chain.jitter + 1))
    source = face.image
    if rng.random() < chain.blur_prob:  # blur the whole image, so the region's borders have real context
        source = apply_kernel(face.image.astype(np.float32), random_motion_kernel(rng))
    small = shrink(source[top : top + TARGET, left : left + TARGET])
    target = face.image[top : top + TARGET, left : left + TARGET]
    if rng.random() < chain.light_prob:
        gain = float(rng.uniform(*chain.gain))
        small, _ = degrade.low_light(small, int(rng.integers(2**31)), gain=gain,
                                     photons_at_white=float(rng.uniform(*chain.photons_at_white)),
                                     read_noise_dn=float(rng.uniform(*chain.read_noise_dn)))
        target = darken(target, gain)
    if rng.random() < chain.jpeg_prob:
        small = degrade.jpeg(small, int(rng.integers(chain.jpeg_quality[0], chain.jpeg_quality[1] + 1)))
    flip = bool(rng.random() < 0.5)
    if flip:
        small, target = small[:, ::-1], target[:, ::-1]
    return (np.ascontiguousarray(small), np.ascontiguousarray(target),
            transform(face.affine, left, top, flip))


def batch(faces: list[Face], size: int, rng: np.random.Generator, chain: Chain = Chain()):
    picks = [sample(faces[int(rng.integers(len(faces)))], rng, chain) for _ in range(size)]
    return tuple(np.stack([p[i] for p in picks]) for i in range(3))


def validation_set(faces: list[Face], seed: int) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray,
                                                         np.ndarray]:
    """Fixed validation data: {"combined": (inputs, targets), "x4": (inputs, targets)}, the clean regions and their
    chip transforms. ``combined`` is the evaluation's chain with random kernels (targets at the input's exposure);
    ``x4`` is only shrunk. Identity is always measured against the clean, fully lit face."""
    rng = np.random.default_rng(seed)
    top = left = (faces[0].image.shape[0] - TARGET) // 2
    sets: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {"combined": ([], []), "x4": ([], [])}
    clean, transforms = [], []
    for face in faces:
        region = face.image[top : top + TARGET, left : left + TARGET]
        blurred = apply_kernel(face.image.astype(np.float32), random_motion_kernel(rng))
        dark, params = degrade.low_light(shrink(blurred[top : top + TARGET, left : left + TARGET]),
                                         int(rng.integers(2**31)))
        sets["combined"][0].append(degrade.jpeg(dark))
        sets["combined"][1].append(darken(region, params["gain"]))
        sets["x4"][0].append(shrink(region))
        sets["x4"][1].append(region)
        clean.append(region)
        transforms.append(transform(face.affine, left, top, False))
    stacked = {name: (np.stack(x), np.stack(y)) for name, (x, y) in sets.items()}
    return stacked, np.stack(clean), np.stack(transforms)

"""Training and validation pairs for the deblur model: sharp faces, synthetic motion blur, sensor noise, JPEG.

Images are ``uint8`` BGR (H, W, 3) as read by OpenCV; batches are float32 NHWC in [-1, 1]. Sharp faces come
from ``utkface_pool`` (2,000 aligned crops) and the LFW *train* identities (a few images per identity so no
single person dominates); validation uses the LFW *val* identities; evaluation (benchmarks) uses *eval* only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from enhancement.datasets import lfw_images, shared_data_dir, split_identities

from ..blur_kernels import apply_kernel, random_motion_kernel

LFW_FACE_CROP = 128  # deep-funneled LFW is 250x250 with the face centred; 128 px keeps the face at its native size


def lfw_face_crop(image: np.ndarray, size: int = LFW_FACE_CROP) -> np.ndarray:
    """Centre ``size`` x ``size`` crop of a deep-funneled LFW image (the face plus a little background)."""
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def _read(path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"unreadable image {path}")
    return image


def load_training_faces(lfw_per_identity: int = 8, use_utkface: bool = True) -> list[np.ndarray]:
    faces = []
    if use_utkface:
        faces += [_read(p) for p in sorted((shared_data_dir() / "utkface_pool" / "crop_part1").glob("*.jpg"))]
    for identity in split_identities("train"):
        # Keep 160 px around the centre: the face and some context, less background to learn from.
        faces += [lfw_face_crop(_read(p), 160) for p in lfw_images(identity)[:lfw_per_identity]]
    return faces


def load_faces(split: str, per_identity: int = 1, limit: int | None = None) -> list[np.ndarray]:
    """Sharp 128x128 LFW face crops of the ``val`` or ``eval`` identities, in a fixed order."""
    faces = []
    for identity in split_identities(split):
        faces += [lfw_face_crop(_read(p)) for p in lfw_images(identity)[:per_identity]]
        if limit is not None and len(faces) >= limit:
            return faces[:limit]
    return faces


@dataclass(frozen=True)
class Degradation:
    """Camera noise and compression applied after the blur (ranges are drawn uniformly per sample)."""

    gaussian_sigma: tuple[float, float] = (0.0, 6.0)  # in 8-bit levels
    poisson_prob: float = 0.3
    poisson_peak: tuple[float, float] = (80.0, 600.0)  # photons at white; lower is noisier
    jpeg_prob: float = 0.7
    jpeg_quality: tuple[int, int] = (40, 95)
    # Share of samples left as pure blur (no noise, no JPEG). A model that only ever sees noisy inputs learns to
    # smooth every input, and loses 3-4 dB on sharp-ish clean ones (deblur_face_s2 on 5-9 px kernels).
    clean_prob: float = 0.0


def degrade(sharp: np.ndarray, kernel: np.ndarray, rng: np.random.Generator, deg: Degradation = Degradation()):
    """Blur ``sharp`` (uint8) with ``kernel``, then add sensor noise and JPEG; returns uint8."""
    blurred = apply_kernel(sharp.astype(np.float32), kernel)
    if deg.clean_prob and rng.random() < deg.clean_prob:  # no draw when 0: older seeded streams are unchanged
        return np.clip(np.rint(blurred), 0, 255).astype(np.uint8)
    if rng.random() < deg.poisson_prob:
        peak = rng.uniform(*deg.poisson_peak)
        blurred = rng.poisson(np.clip(blurred, 0, 255) / 255.0 * peak) / peak * 255.0
    blurred = blurred + rng.normal(0.0, rng.uniform(*deg.gaussian_sigma), blurred.shape)
    out = np.clip(np.rint(blurred), 0, 255).astype(np.uint8)
    if rng.random() < deg.jpeg_prob:
        quality = int(rng.integers(deg.jpeg_quality[0], deg.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def to_unit(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 127.5 - 1.0


def from_unit(images: np.ndarray) -> np.ndarray:
    """Inverse of ``to_unit``: network output in [-1, 1] back to rounded, clipped uint8."""
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def training_pair(face: np.ndarray, patch: int, rng: np.random.Generator, scale: tuple[float, float],
                  deg: Degradation) -> tuple[np.ndarray, np.ndarray]:
    """A (blurred, sharp) uint8 patch pair: random scale, crop, flip; blur computed with real context around it."""
    s = rng.uniform(*scale)
    h, w = face.shape[:2]
    size = max(int(round(min(h, w) * s)), patch + 26)
    img = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA) if size != min(h, w) else face
    kernel = random_motion_kernel(rng)
    margin = kernel.shape[0] // 2 + 1
    win = patch + 2 * margin
    y = int(rng.integers(0, img.shape[0] - win + 1))
    x = int(rng.integers(0, img.shape[1] - win + 1))
    region = img[y : y + win, x : x + win]
    if rng.random() < 0.5:
        region = region[:, ::-1]
    region = np.ascontiguousarray(region)
    blurred = degrade(region, kernel, rng, deg)[margin : margin + patch, margin : margin + patch]
    sharp = region[margin : margin + patch, margin : margin + patch]
    return blurred, sharp


def training_batch(faces: list[np.ndarray], batch: int, patch: int, rng: np.random.Generator,
                   scale: tuple[float, float] = (0.6, 1.0), deg: Degradation = Degradation()):
    pairs = [training_pair(faces[int(rng.integers(len(faces)))], patch, rng, scale, deg) for _ in range(batch)]
    blurred = np.stack([p[0] for p in pairs])
    sharp = np.stack([p[1] for p in pairs])
    return to_unit(blurred), to_unit(sharp)


def validation_set(count: int = 40, seed: int = 4242) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed (noisy, clean, sharp) uint8 128x128 stacks from the LFW val identities, blurred with seed ``seed``.

    ``noisy`` is blur + the training noise model; ``clean`` is the same faces blurred by the same kernels, nothing
    else. Kernels and noise come from one stream in the order the noisy set has always drawn them.
    """
    sharp = load_faces("val", per_identity=2, limit=count)
    rng = np.random.default_rng(seed)
    noisy, clean = [], []
    for face in sharp:
        kernel = random_motion_kernel(rng)
        noisy.append(degrade(face, kernel, rng))
        clean.append(apply_kernel(face, kernel))
    return np.stack(noisy), np.stack(clean), np.stack(sharp)

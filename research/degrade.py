"""CCTV-style degradations of face images, used by the evaluation (``research.evaluate``).

Conventions: images are ``uint8`` BGR (H, W, 3) in and out. Every function is pure and seeded: the same image and
seed give the same output bytes, so a probe can be rebuilt from (image, degradation name, seed) alone.

What each degradation models, and why these parameters:
- ``downscale``: a face far from the camera covers few pixels. MATLAB-style bicubic with antialiasing (the SRCNN
  engineer's ``research.sr_metrics`` helper) so that "bicubic only" and SRCNN start from the same degradation
  the SR literature uses.
- ``low_light``: exposure falls to a gain of 0.2-0.3 and the sensor adds shot noise (Poisson in photons) plus read
  noise (Gaussian in digital numbers). ``PHOTONS_AT_WHITE`` sets how many photons a full-white pixel collects:
  a small CCTV sensor pixel in a dim scene collects a few hundred, which gives visibly grainy faces.
- ``motion_blur``: trajectory kernels from ``research.blur_kernels.heldout_kernels()``, never the kernels the
  deblurring model was trained on.
- ``jpeg``: CCTV recorders store heavily compressed streams; OpenCV's encoder (4:2:0 chroma) at a given quality.
- ``combined``: the order a real camera applies them: the scene moves during the exposure (blur at full
  resolution), the optics/sensor sample it coarsely (x4 down), the dim scene is amplified with noise, and the
  recorder compresses it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

LOW_LIGHT_GAIN_RANGE = (0.2, 0.3)
PHOTONS_AT_WHITE = 400.0  # photo-electrons a full-white pixel collects at the degraded exposure's reference
READ_NOISE_DN = 2.0  # Gaussian read noise, standard deviation in 8-bit digital numbers
JPEG_QUALITY = 30  # typical of a CCTV recorder's substream
COMBINED_FACTOR = 4


@dataclass(frozen=True)
class Degraded:
    """A degraded probe: the image, how its side compares to the original's, and what was done to it."""

    image: np.ndarray
    scale: float
    params: dict[str, Any] = field(default_factory=dict)


def rng_for(seed: int, *keys: int | str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``keys`` (strings hashed with CRC-32, stable across runs)."""
    words = [int(seed) & 0xFFFFFFFF]
    words += [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) & 0xFFFFFFFF for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


def _check(image: np.ndarray) -> None:
    if image is None or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("degradations expect a uint8 BGR image shaped (H, W, 3)")


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    from enhancement.bicubic import imresize  # the SRCNN engineer's MATLAB-compatible bicubic

    return np.clip(np.rint(imresize(image.astype(np.float64), scale)), 0, 255).astype(np.uint8)


def downscale(image: np.ndarray, factor: float) -> np.ndarray:
    """Shrink by ``factor`` (> 1) with antialiased MATLAB-style bicubic; each side becomes ceil(side / factor)."""
    _check(image)
    if factor <= 1:
        raise ValueError("downscale factor must be > 1")
    return _resize(image, 1.0 / factor)


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic up by an integer ``scale``: the "bicubic only" probe, and exactly SRCNN's input before its network."""
    _check(image)
    if scale < 1:
        raise ValueError("upscale factor must be >= 1")
    return image.copy() if scale == 1 else _resize(image, float(scale))


def low_light(image: np.ndarray, seed: int, gain: float | None = None, photons_at_white: float = PHOTONS_AT_WHITE,
              read_noise_dn: float = READ_NOISE_DN, agc: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """Darken by ``gain`` (drawn from 0.2-0.3 when None) and add Poisson shot noise and Gaussian read noise.

    ``agc``: the camera's automatic gain brings the exposure back (divides by ``gain``, noise included) before the
    image is quantised, as a CCTV camera's image processor does before its encoder (not part of any evaluated
    degradation; ``benchmarks/combined_ablation.py`` measures it)."""
    _check(image)
    rng = rng_for(seed, "low_light")
    if gain is None:
        gain = float(rng.uniform(*LOW_LIGHT_GAIN_RANGE))
    signal = image.astype(np.float64) / 255.0 * gain
    electrons = rng.poisson(signal * photons_at_white).astype(np.float64)
    noisy = electrons / photons_at_white * 255.0 + rng.normal(0.0, read_noise_dn, size=image.shape)
    if agc:
        noisy = noisy / gain
    out = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    params = {"gain": round(gain, 4), "photons_at_white": photons_at_white, "read_noise_dn": read_noise_dn}
    return out, {**params, "agc": True} if agc else params


def motion_blur(image: np.ndarray, seed: int, kernel_index: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Blur with one of the held-out trajectory kernels (drawn by ``seed`` when ``kernel_index`` is None)."""
    from .blur_kernels import apply_kernel, heldout_kernels

    _check(image)
    kernels = heldout_kernels()
    if kernel_index is None:
        kernel_index = int(rng_for(seed, "motion_blur").integers(len(kernels)))
    kernel = np.asarray(kernels[kernel_index])
    return apply_kernel(image, kernel), {"kernel_index": kernel_index, "kernel_size": list(kernel.shape)}


def jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> np.ndarray:
    """Encode and decode as JPEG at ``quality`` (1-100)."""
    _check(image)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV only fails here on invalid input, which _check refuses
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def combined(image: np.ndarray, seed: int, factor: float = COMBINED_FACTOR, quality: int | None = JPEG_QUALITY,
             blur: bool = True, light: bool = True, agc: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """Motion blur at full resolution -> xfactor down -> low light with noise -> JPEG. ``blur=False``,
    ``light=False`` or ``quality=None`` leave that part out, ``agc=True`` restores the exposure before the JPEG
    (``benchmarks/combined_ablation.py``)."""
    blurred, blur_params = motion_blur(image, seed) if blur else (image, None)
    small = downscale(blurred, factor)
    dark, light_params = low_light(small, seed, agc=agc) if light else (small, None)
    out = jpeg(dark, quality) if quality else dark
    return out, {"blur": blur_params, "factor": factor, "low_light": light_params, "jpeg": quality}


def _scale(original: np.ndarray, probe: np.ndarray) -> float:
    return probe.shape[1] / original.shape[1]


def _clean(image: np.ndarray, seed: int) -> Degraded:
    _check(image)
    return Degraded(image.copy(), 1.0, {})


def _down(factor: int) -> Callable[[np.ndarray, int], Degraded]:
    def degrade_down(image: np.ndarray, seed: int) -> Degraded:
        small = downscale(image, factor)
        return Degraded(small, _scale(image, small), {"factor": factor})

    return degrade_down


def _low_light(image: np.ndarray, seed: int) -> Degraded:
    out, params = low_light(image, seed)
    return Degraded(out, 1.0, params)


def _blur(image: np.ndarray, seed: int) -> Degraded:
    out, params = motion_blur(image, seed)
    return Degraded(out, 1.0, params)


def _jpeg(image: np.ndarray, seed: int) -> Degraded:
    return Degraded(jpeg(image), 1.0, {"quality": JPEG_QUALITY})


def _combined(image: np.ndarray, seed: int) -> Degraded:
    out, params = combined(image, seed)
    return Degraded(out, _scale(image, out), params)


# name -> (image, seed) -> Degraded, in the order the report lists them
DEGRADATIONS: dict[str, Callable[[np.ndarray, int], Degraded]] = {
    "clean": _clean,
    "x4": _down(4),
    "x6": _down(6),
    "low_light": _low_light,
    "blur": _blur,
    "jpeg": _jpeg,
    "combined": _combined,
}


def degrade(image: np.ndarray, name: str, seed: int) -> Degraded:
    """Apply the named degradation (see ``DEGRADATIONS``) with a seed of its own."""
    if name not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {name!r}; choose one of {tuple(DEGRADATIONS)}")
    return DEGRADATIONS[name](image, seed)

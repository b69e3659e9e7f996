"""Super-resolution evaluation helpers that match the SRCNN paper's MATLAB protocol (PSNR, mod-crop, the
bicubic degradation, LFW centre crops); the resize and colour conversion are ``enhancement.bicubic``.

Conventions: arrays here are float64 or uint8 single-channel luma (H, W) unless a name says ``bgr``.
"""

from __future__ import annotations

import math

import numpy as np

from enhancement.bicubic import imresize, luma


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def bicubic_pair(y_hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(HR, bicubic-upscaled LR) luma in [0, 1] float, HR mod-cropped: the paper's degradation."""
    hr = modcrop(y_hr, scale).astype(np.float64) / 255.0
    low = imresize(hr, 1.0 / scale)
    return hr, imresize(low, float(scale))


def psnr(reference: np.ndarray, estimate: np.ndarray, border: int = 0) -> float:
    """PSNR in dB of two uint8 (or 0..255) images, ignoring ``border`` pixels on each side."""
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(estimate, dtype=np.float64)
    if border:
        a = a[border:-border, border:-border]
        b = b[border:-border, border:-border]
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def to_uint8(unit: np.ndarray) -> np.ndarray:
    """[0, 1] float to uint8, as MATLAB's ``uint8(x * 255)`` (round half away, saturate)."""
    return np.clip(np.rint(np.asarray(unit) * 255.0), 0, 255).astype(np.uint8)


def lfw_centre_crops(split: str, count: int, size: int = 120) -> list[np.ndarray]:
    """Luma (uint8) centre crops of the first image of the first ``count`` identities (sorted) of an LFW split.

    A fixed, deterministic face SR evaluation set: ``split="eval"`` identities never appear in any training.
    ``size`` 120 divides by 2, 3 and 4, so no mod-crop changes the crop between scales.
    """
    import cv2

    from enhancement.datasets import lfw_images, split_identities

    crops = []
    for identity in sorted(split_identities(split)):
        paths = lfw_images(identity)
        if not paths:
            continue
        y = luma(cv2.imread(str(paths[0])))
        r, c = (y.shape[0] - size) // 2, (y.shape[1] - size) // 2
        crops.append(y[r:r + size, c:c + size])
        if len(crops) == count:
            break
    return crops

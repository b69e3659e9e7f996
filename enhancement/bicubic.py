"""MATLAB-compatible bicubic resize and BT.601 YCbCr, shared by the SRCNN step and its trainer.

Conventions: arrays here are float64 or uint8 single-channel luma (H, W) unless a name says ``bgr``;
colour images arrive as ``uint8`` BGR (OpenCV order) and are converted at the edge.

Why our own ``imresize``: the paper's PSNR figures (and the bicubic baselines, e.g. Set5 x3 = 30.39 dB)
come from MATLAB's ``imresize``, which antialiases when shrinking (the cubic kernel is stretched by
1/scale) and mirrors at the borders. OpenCV's ``INTER_CUBIC`` uses a = -0.75 and no antialiasing, which
moves bicubic PSNR by tenths of a dB, enough to make a comparison with the paper meaningless. The same
function makes our training LR images, so train and test degradations agree.
"""

from __future__ import annotations

import math

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def _resize_matrix(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """Dense (out_len, in_len) weight matrix for one axis, as MATLAB's ``contributions``."""
    antialias = scale < 1
    width = 4.0 / scale if antialias else 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # output pixel centre in 1-based input coordinates
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    dist = u[:, None] - idx
    weights = scale * _cubic(dist * scale) if antialias else _cubic(dist)
    weights /= weights.sum(axis=1, keepdims=True)
    # symmetric (mirror) boundary: 1..n, n..1, repeating
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    cols = mirror[(idx.astype(np.int64) - 1) % (2 * in_len)]
    matrix = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.repeat(np.arange(out_len), taps)
    np.add.at(matrix, (rows, cols.ravel()), weights.ravel())
    return matrix


def imresize(image: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(image, scale, 'bicubic')`` on float data (H, W) or (H, W, C); returns float64.

    Output size is ``ceil(size * scale)``; no rounding or clipping (MATLAB does none on double input).
    The axis with the smaller scale goes first, as in MATLAB (both equal here, so rows first).
    """
    img = np.asarray(image, dtype=np.float64)
    h, w = img.shape[:2]
    out_h, out_w = int(math.ceil(h * scale - 1e-9)), int(math.ceil(w * scale - 1e-9))
    rows = _resize_matrix(h, out_h, scale)
    cols = _resize_matrix(w, out_w, scale)
    out = np.tensordot(rows, img, axes=(1, 0))
    out = np.moveaxis(np.tensordot(cols, out, axes=(1, 1)), 0, 1)
    return out


def bgr_to_ycbcr(bgr: np.ndarray) -> np.ndarray:
    """BT.601 studio-swing YCbCr (MATLAB ``rgb2ycbcr``) of a uint8 BGR image, as float64 in 0..255 units."""
    rgb = bgr[..., ::-1].astype(np.float64) / 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16.0 + 65.481 * r + 128.553 * g + 24.966 * b
    cb = 128.0 - 37.797 * r - 74.203 * g + 112.0 * b
    cr = 128.0 + 112.0 * r - 93.786 * g - 18.214 * b
    return np.stack([y, cb, cr], axis=-1)


def ycbcr_to_bgr(ycc: np.ndarray) -> np.ndarray:
    """Inverse of :func:`bgr_to_ycbcr`; returns uint8 BGR (rounded and clipped)."""
    y, cb, cr = ycc[..., 0] - 16.0, ycc[..., 1] - 128.0, ycc[..., 2] - 128.0
    r = 255.0 / 219.0 * y + 255.0 * 1.402 / 224.0 * cr
    g = 255.0 / 219.0 * y - 255.0 * 1.772 * 0.114 / (224.0 * 0.587) * cb - 255.0 * 1.402 * 0.299 / (224.0 * 0.587) * cr
    b = 255.0 / 219.0 * y + 255.0 * 1.772 / 224.0 * cb
    return np.clip(np.rint(np.stack([b, g, r], axis=-1)), 0, 255).astype(np.uint8)


def luma(bgr: np.ndarray) -> np.ndarray:
    """Y of a uint8 BGR (or single-channel, taken as Y already) image, rounded to uint8 as MATLAB does."""
    if bgr.ndim == 2:
        return bgr.astype(np.uint8)
    return np.clip(np.rint(bgr_to_ycbcr(bgr)[..., 0]), 0, 255).astype(np.uint8)

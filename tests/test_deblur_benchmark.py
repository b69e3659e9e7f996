"""The deblur benchmark's classical baseline is the Richardson-Lucy of scikit-image, only faster and border-safe."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data
from skimage.restoration import richardson_lucy as skimage_rl

from benchmarks.deblur import psnr, richardson_lucy
from research.blur_kernels import apply_kernel, heldout_kernels


def test_it_matches_skimage_richardson_lucy_away_from_the_borders() -> None:
    sharp = np.ascontiguousarray(cv2.resize(data.astronaut(), (96, 96), interpolation=cv2.INTER_AREA)[..., ::-1])
    kernel = next(k for k in heldout_kernels() if k.shape[0] == 11)
    blurred = apply_kernel(sharp, kernel)
    ours = richardson_lucy(blurred, kernel, 10)
    p = kernel.shape[0]
    padded = cv2.copyMakeBorder(blurred, p, p, p, p, cv2.BORDER_REFLECT).astype(np.float64) / 255.0
    reference = np.stack([skimage_rl(padded[..., c], kernel.astype(np.float64), num_iter=10, clip=True)
                          for c in range(3)], -1)[p:-p, p:-p]
    reference = np.clip(np.rint(reference * 255.0), 0, 255).astype(int)
    inner = slice(2 * p, -2 * p)
    assert np.abs(ours[inner, inner].astype(int) - reference[inner, inner]).max() <= 1
    assert psnr(ours, sharp) > psnr(blurred, sharp) + 2.0  # with the true kernel, clean blur is largely undone

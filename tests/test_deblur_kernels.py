"""Motion-blur kernels: what training draws, what evaluation holds out, and Levin et al.'s recorded kernels."""

from __future__ import annotations

import numpy as np
import pytest

from enhancement.datasets import has_shared_data
from research.blur_kernels import apply_kernel, heldout_kernels, levin_kernels, random_motion_kernel

needs_data = pytest.mark.skipif(not has_shared_data(), reason="../shared/data (Levin kernels) is not present")


def _centre_of_mass(kernel: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[: kernel.shape[0], : kernel.shape[1]]
    return float((ys * kernel).sum()), float((xs * kernel).sum())


def test_it_draws_normalised_centred_kernels_of_5_to_25_pixels() -> None:
    rng = np.random.default_rng(1)
    sizes = set()
    for _ in range(200):
        kernel = random_motion_kernel(rng)
        sizes.add(kernel.shape[0])
        assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
        assert kernel.dtype == np.float32 and kernel.min() >= 0
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
        mid = (kernel.shape[0] - 1) / 2
        cy, cx = _centre_of_mass(kernel)
        assert abs(cy - mid) < 0.6 and abs(cx - mid) < 0.6  # blur must not shift the face
    assert min(sizes) == 5 and max(sizes) == 25


def test_it_draws_motion_paths_not_blobs() -> None:
    # A trajectory covers few pixels of its square; an isotropic blob would cover most of it.
    rng = np.random.default_rng(2)
    covered = [np.mean(k > k.max() * 0.05) for k in (random_motion_kernel(rng, 21) for _ in range(50))]
    assert np.median(covered) < 0.35


def test_it_holds_out_the_same_kernels_on_every_call() -> None:
    first, second = heldout_kernels(), heldout_kernels()
    assert len(first) == 48
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    first[0][:] = 0  # callers get copies: mutating one never changes the evaluation set
    assert heldout_kernels()[0].sum() == pytest.approx(1.0, abs=1e-5)


def test_it_convolves_rather_than_correlates() -> None:
    image = np.zeros((9, 9), np.float32)
    image[4, 4] = 1.0
    kernel = np.zeros((3, 3), np.float32)
    kernel[0, 0] = 1.0  # convolution moves the point by the tap's offset (-1, -1); correlation would move it (+1, +1)
    out = apply_kernel(image, kernel)
    assert out[3, 3] == pytest.approx(1.0)


def test_it_keeps_a_uint8_image_uint8_and_identity_kernel_exact() -> None:
    image = np.random.default_rng(3).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    delta = np.zeros((5, 5), np.float32)
    delta[2, 2] = 1.0
    out = apply_kernel(image, delta)
    assert out.dtype == np.uint8 and np.array_equal(out, image)


@needs_data
def test_it_loads_the_8_levin_kernels_rescaled_to_sum_1() -> None:
    kernels = levin_kernels()
    assert len(kernels) == 8
    assert [k.shape[0] for k in kernels] == [19, 17, 15, 27, 13, 21, 23, 23]
    assert all(k.sum() == pytest.approx(1.0, abs=1e-5) for k in kernels)

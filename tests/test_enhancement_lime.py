"""LIME on the real low-light test images of the paper's LIME set."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.sparse as sp

from enhancement import lime
from enhancement.datasets import has_shared_data, shared_data_dir


def lime_images() -> list[Path]:
    if not has_shared_data():
        return []
    return sorted((shared_data_dir() / "lime_test" / "LIME").glob("*.bmp"))


needs_data = pytest.mark.skipif(not lime_images(), reason="../shared/data/lime_test is absent")


def load_small(path: Path, width: int = 320) -> np.ndarray:
    image = cv2.imread(str(path))
    h, w = image.shape[:2]
    return cv2.resize(image, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)


@needs_data
@pytest.mark.parametrize("path", lime_images(), ids=lambda p: p.name)
def test_it_brightens_every_lime_test_image_without_clipping_most_pixels(path):
    image = load_small(path)
    out, record = lime.lime_step(image, {})
    luma_in = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean()
    luma_out = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).mean()
    assert luma_out > luma_in * 1.5, f"{path.name}: {luma_in:.1f} -> {luma_out:.1f}"
    # R = L / T saturates the strongest channel wherever the smoothed T falls below max(RGB) (up to 29 % of the
    # pixels on 4.bmp), but the pixels turned white, which lose all detail, stay few
    assert (out.max(axis=2) == 255).mean() < 0.5
    assert (cv2.cvtColor(out, cv2.COLOR_BGR2GRAY) >= 250).mean() < 0.10
    assert record.step == "lime" and record.ai_enhanced is False


def test_it_solves_the_papers_linear_system_exactly():
    """Build (I + alpha * sum_d D_d^T diag(W~_d) D_d) from explicit difference matrices and check the residual."""
    rng = np.random.default_rng(0)
    t_hat = cv2.GaussianBlur(rng.random((23, 31)), (0, 0), 1.5)
    h, w = t_hat.shape
    t = lime.refine_illumination(t_hat, alpha=0.15, strategy=3)

    def forward(n):  # forward difference, zero at the last sample
        d = sp.diags([-np.ones(n), np.ones(n - 1)], [0, 1], shape=(n, n)).tolil()
        d[n - 1, n - 1] = 0
        return d.tocsr()

    dh = sp.kron(sp.identity(h), forward(w))
    dv = sp.kron(forward(h), sp.identity(w))
    wh, wv = lime.weights(t_hat, 3, 2.0, 1e-3)
    a = sp.identity(h * w) + 0.15 * (dh.T @ sp.diags(wh.ravel()) @ dh + dv.T @ sp.diags(wv.ravel()) @ dv)
    residual = a @ t.ravel() - t_hat.ravel()
    assert np.abs(residual).max() < 1e-9


@needs_data
def test_it_keeps_the_fast_variant_close_to_the_exact_one():
    image = load_small(lime_images()[0], 480)
    exact, t_exact = lime.enhance(image)
    fast, t_fast = lime.enhance(image, fast=True, fast_size=120)
    assert np.abs(t_exact - t_fast).mean() < 0.05
    assert np.abs(exact.astype(int) - fast.astype(int)).mean() < 12


@needs_data
def test_it_denoises_dark_regions_more_than_bright_ones():
    image = load_small(lime_images()[0])
    plain, t = lime.enhance(image)
    denoised, _ = lime.enhance(image, denoise=True)
    change = np.abs(plain.astype(int) - denoised.astype(int)).mean(axis=2)
    dark, bright = t < np.percentile(t, 25), t > np.percentile(t, 75)
    assert change[dark].mean() > change[bright].mean()


def test_it_rejects_unknown_parameters_and_grey_images():
    image = np.full((8, 8, 3), 40, np.uint8)
    with pytest.raises(ValueError, match="unknown LIME parameters"):
        lime.enhance(image, alfa=0.1)
    with pytest.raises(ValueError, match="uint8 BGR"):
        lime.enhance(image[:, :, 0])


def test_it_scores_an_order_preserving_enhancement_with_zero_loe():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 120, (50, 70, 3), dtype=np.uint8)  # shorter side 50: LOE does not resample it
    assert lime.lightness_order_error(image, image * 2) == 0.0
    assert lime.lightness_order_error(image, 255 - image) > 0.0

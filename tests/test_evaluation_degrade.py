"""The CCTV degradations the evaluation applies to LFW probes: pure, seeded, and as strong as documented."""

import cv2
import numpy as np
import pytest

from enhancement.datasets import has_shared_data, lfw_pairs
from research import degrade
from research.sr_metrics import psnr

pytestmark = pytest.mark.skipif(not has_shared_data(), reason="needs ../shared/data (LFW)")


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    _, probe, _ = lfw_pairs("pairsDevTest")[0]
    return cv2.imread(str(probe))


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


@pytest.mark.parametrize("name", list(degrade.DEGRADATIONS))
def test_it_gives_the_same_bytes_for_the_same_seed(face, name):
    first = degrade.degrade(face, name, seed=7)
    again = degrade.degrade(face.copy(), name, seed=7)
    assert first.image.dtype == np.uint8 and first.image.ndim == 3
    assert first.image.tobytes() == again.image.tobytes()
    assert first.params == again.params


def test_it_leaves_the_input_untouched(face):
    before = face.copy()
    for name in degrade.DEGRADATIONS:
        degrade.degrade(face, name, seed=3)
    assert np.array_equal(face, before)


def test_it_draws_new_noise_and_a_new_kernel_for_a_new_seed(face):
    a, b = degrade.degrade(face, "low_light", 1), degrade.degrade(face, "low_light", 2)
    assert not np.array_equal(a.image, b.image)
    kernels = {degrade.degrade(face, "blur", s).params["kernel_index"] for s in range(12)}
    assert len(kernels) > 3


def test_it_downscales_by_the_factor_and_reports_the_scale(face):
    x4, x6 = degrade.degrade(face, "x4", 0), degrade.degrade(face, "x6", 0)
    assert x4.image.shape == (63, 63, 3) and x4.scale == pytest.approx(63 / 250)
    assert x6.image.shape == (42, 42, 3) and x6.scale == pytest.approx(42 / 250)
    # antialiased: the small image still has the original's average colour
    assert np.abs(x4.image.reshape(-1, 3).mean(0) - face.reshape(-1, 3).mean(0)).max() < 3


def test_it_upscales_back_to_a_bicubic_probe_close_to_the_original(face):
    small = degrade.downscale(face[:248, :248], 4)
    back = degrade.upscale(small, 4)
    assert back.shape == (248, 248, 3)
    assert 22 < psnr(face[:248, :248], back) < 35


def test_it_darkens_by_a_gain_of_point_two_to_point_three_and_adds_noise(face):
    for seed in range(5):
        dark = degrade.degrade(face, "low_light", seed)
        gain = dark.params["gain"]
        assert 0.2 <= gain <= 0.3
        ratio = dark.image.mean() / face.mean()
        assert ratio == pytest.approx(gain, abs=0.02)
        noiseless = np.clip(np.rint(face.astype(np.float64) * gain), 0, 255)
        residual = dark.image.astype(np.float64) - noiseless
        assert 1.5 < residual.std() < 6  # shot + read noise, in 8-bit numbers


def test_its_camera_gain_option_restores_the_exposure_with_the_noise_amplified(face):
    # Only the ablation uses it (benchmarks/combined_ablation.py): same draw as the dark image, divided by the gain.
    dark, params = degrade.low_light(face, 7)
    bright, bright_params = degrade.low_light(face, 7, agc=True)
    assert bright_params == {**params, "agc": True} and "agc" not in params
    assert bright.mean() / face.mean() == pytest.approx(1.0, abs=0.03)
    residual = bright.astype(np.float64) - face
    assert residual.std() > 2.5 * (dark.astype(np.float64) - np.rint(face * params["gain"])).std()


def test_it_blurs_with_a_held_out_kernel(face):
    from research.blur_kernels import HELDOUT_COUNT

    blurred = degrade.degrade(face, "blur", 11)
    assert 0 <= blurred.params["kernel_index"] < HELDOUT_COUNT
    assert blurred.image.shape == face.shape
    assert sharpness(blurred.image) < 0.6 * sharpness(face)


def test_it_compresses_harder_at_lower_jpeg_quality(face):
    q30, q80 = degrade.jpeg(face, 30), degrade.jpeg(face, 80)
    assert 25 < psnr(face, q30) < psnr(face, q80)
    assert degrade.degrade(face, "jpeg", 0).params == {"quality": degrade.JPEG_QUALITY}


def test_it_chains_blur_downscale_low_light_and_jpeg_for_the_combined_degradation(face):
    out = degrade.degrade(face, "combined", 5)
    assert out.image.shape == (63, 63, 3)
    assert set(out.params) == {"blur", "factor", "low_light", "jpeg"}
    assert out.image.mean() < 0.35 * face.mean()
    # the blur came first, at full resolution: the result is softer than a plain x4 of the dark face
    plain = degrade.jpeg(degrade.low_light(degrade.downscale(face, 4), 5)[0], degrade.JPEG_QUALITY)
    assert sharpness(out.image) < sharpness(plain)


def test_it_refuses_unknown_degradations_and_non_uint8_images(face):
    with pytest.raises(ValueError):
        degrade.degrade(face, "fog", 0)
    with pytest.raises(ValueError):
        degrade.degrade(face.astype(np.float32), "jpeg", 0)

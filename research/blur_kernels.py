"""Motion-blur kernels: random camera-shake trajectories, a fixed held-out set, and Levin et al.'s real kernels.

Conventions: a kernel is a 2-D ``float32`` array that sums to 1, odd-sized, with its centre of mass at the centre
pixel (so blurring does not shift the image, which would otherwise be learnt as a translation and hurt PSNR).
``apply_kernel`` convolves a ``uint8`` or float image (any number of channels) with reflected borders.

The trajectory model follows the idea of Boracchi & Foi (2012), used to make the DeblurGAN training data: a point
moves at constant speed under inertia, a small random (Gaussian) shake, occasional abrupt shakes and a weak pull
back towards its start; a random fraction of the path (the exposure) is rasterised with sub-pixel (bilinear)
accumulation into a 5-25 px kernel. The code here is our own.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

MIN_SIZE = 5
MAX_SIZE = 25
# Held-out kernels use their own seed, never the training seed, so evaluation blur is unseen in training.
HELDOUT_SEED = 770_2026
HELDOUT_COUNT = 48


def _trajectory(rng: np.random.Generator, steps: int = 256) -> np.ndarray:
    """A random 2-D camera/subject path as complex positions (arbitrary units, unit step length)."""
    anxiety = rng.uniform(0.0, 0.6)  # how shaky the hand is: 0 gives a nearly straight or curved line
    centripetal = rng.uniform(0.0, 0.05)  # pull back to the start, keeps long shakes from running away
    big_shake_prob = rng.uniform(0.0, 0.02)
    velocity = np.exp(1j * rng.uniform(0.0, 2 * np.pi))
    curvature = rng.normal(0.0, 0.01)  # a steady turn, as a walking subject or a panning camera makes
    position = 0j
    path = np.empty(steps, dtype=np.complex128)
    for t in range(steps):
        path[t] = position
        shake = anxiety * 0.3 * complex(rng.normal(), rng.normal())
        if rng.random() < big_shake_prob * anxiety:
            shake += 2.0 * velocity * np.exp(1j * rng.uniform(np.pi / 2, 3 * np.pi / 2))
        velocity = velocity * np.exp(1j * curvature) + shake - centripetal * position / steps
        velocity /= max(abs(velocity), 1e-9)  # constant speed: blur length follows the exposure
        position += velocity
    return path


def _rasterise(points: np.ndarray, size: int) -> np.ndarray:
    """Accumulate complex points (already scaled to pixels, centred at 0) bilinearly into a size x size kernel."""
    kernel = np.zeros((size, size), dtype=np.float64)
    centre = (size - 1) / 2
    xs, ys = points.real + centre, points.imag + centre
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < size) & (yi >= 0) & (yi < size)
        np.add.at(kernel, (yi[ok], xi[ok]), w[ok])
    return kernel


def random_motion_kernel(rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """One random motion kernel of odd ``size`` (drawn uniformly from 5..25 when None), float32, sum 1."""
    if size is None:
        size = int(rng.integers(MIN_SIZE // 2, MAX_SIZE // 2 + 1)) * 2 + 1
    if size < 3 or size % 2 == 0:
        raise ValueError(f"kernel size must be odd and >= 3, got {size}")
    path = _trajectory(rng)
    exposure = rng.uniform(0.4, 1.0)  # a random fraction of the shake is recorded, as with a shutter
    start = int(rng.integers(0, int(len(path) * (1 - exposure)) + 1))
    path = path[start : start + max(int(len(path) * exposure), 2)]
    # Densify (uniform in time) so that no pixel on the path is skipped, then put the centre of mass (the mean
    # position over the exposure) at the origin: the kernel then does not shift the image.
    unit_len = np.abs(np.diff(path)).sum()
    steps = int(np.ceil(unit_len * 4)) + 2
    t = np.linspace(0, len(path) - 1, steps)
    fine = np.interp(t, np.arange(len(path)), path.real) + 1j * np.interp(t, np.arange(len(path)), path.imag)
    fine = fine - fine.mean()
    reach = max(np.abs(fine.real).max(), np.abs(fine.imag).max(), 1e-6)
    # The farthest point reaches 60-100 % of the half-size (minus a pixel for the bilinear spread).
    fine = fine * ((size - 3) / 2 * rng.uniform(0.6, 1.0) / reach)
    kernel = _rasterise(fine, size)
    return (kernel / kernel.sum()).astype(np.float32)


@cache
def _heldout(count: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(HELDOUT_SEED)
    return tuple(random_motion_kernel(rng) for _ in range(count))


def heldout_kernels(count: int = HELDOUT_COUNT) -> list[np.ndarray]:
    """The fixed evaluation kernels (seed ``HELDOUT_SEED``, sizes 5-25), the same on every machine."""
    return [k.copy() for k in _heldout(count)]


def levin_kernels() -> list[np.ndarray]:
    """The 8 recorded camera-shake kernels of Levin et al. (CVPR 2009), rescaled to sum 1."""
    from enhancement.datasets import shared_data_dir

    folder = shared_data_dir() / "levin_blur" / "levin" / "gt"
    kernels = []
    for i in range(1, 9):
        path = folder / f"kernel{i}.png"
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise FileNotFoundError(f"Levin kernel not readable: {path}")
        k = image.astype(np.float32)
        kernels.append(k / k.sum())
    return kernels


def apply_kernel(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve ``image`` with ``kernel`` (reflected borders); a ``uint8`` input gives a rounded ``uint8`` output."""
    # filter2D correlates; flipping the kernel makes it a true convolution (matters for asymmetric kernels).
    flipped = np.ascontiguousarray(kernel[::-1, ::-1], dtype=np.float32)
    if image.dtype == np.uint8:
        out = cv2.filter2D(image.astype(np.float32), -1, flipped, borderType=cv2.BORDER_REFLECT)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return cv2.filter2D(image.astype(np.float32), -1, flipped, borderType=cv2.BORDER_REFLECT)

"""Deblur training's identity term: the chip map reproduces dlib's alignment, and the loss sees identity changes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from enhancement.datasets import has_shared_data, lfw_images, split_identities

needs_data = pytest.mark.skipif(not has_shared_data(), reason="../shared/data (LFW) is not present")


@needs_data
def test_the_chip_map_reproduces_dlibs_aligned_chip() -> None:
    import dlib

    from enhancement.embed import CHIP_PADDING, CHIP_SIZE, _models, _rgb, chip_to_image_affine

    image = cv2.imread(str(lfw_images(split_identities("train")[0])[0]))
    affine = chip_to_image_affine(image)
    rgb = _rgb(image)
    rect = dlib.get_frontal_face_detector()(rgb, 1)[0]
    chip = np.asarray(dlib.get_face_chip(rgb, _models()[0](rgb, rect), size=CHIP_SIZE, padding=CHIP_PADDING))
    mine = cv2.warpAffine(rgb, affine, (CHIP_SIZE, CHIP_SIZE), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    diff = np.abs(mine.astype(float) - chip.astype(float))[5:-5, 5:-5]
    assert diff.mean() < 1.5, diff.mean()  # interpolation rounding only; a wrong map differs by tens of levels
    assert chip_to_image_affine(np.full((120, 120, 3), 128, np.uint8)) is None


@needs_data
def test_the_tf_warp_matches_opencv_and_the_loss_follows_identity() -> None:
    import tensorflow as tf

    from enhancement.embed_tf import _network
    from research.deblur.data import to_unit
    from research.deblur.identity import identity_faces, identity_loss, numpy_chips, warp_to_chips

    faces = identity_faces("val", 1, limit=2)
    assert len(faces) == 2 and faces[0].face.shape == (160, 160, 3)
    images = np.stack([f.face for f in faces])
    transforms = np.stack([f.transform for f in faces])
    tf_chips = warp_to_chips(tf.constant(to_unit(images)), tf.constant(transforms)).numpy()
    cv_chips = np.stack(numpy_chips(images, transforms)).astype(np.float32)
    assert np.abs(tf_chips - cv_chips)[:, 5:-5, 5:-5].mean() < 1.0

    embed = _network()[0]
    same = tf.constant(to_unit(images))
    swapped = tf.constant(to_unit(images[::-1].copy()))
    assert float(identity_loss(embed, same, same, tf.constant(transforms))) < 1e-6
    # Two different people: squared dlib distance well above the same-person range (0.6 ** 2).
    assert float(identity_loss(embed, swapped, same, tf.constant(transforms))) > 0.36
    blurred = tf.Variable(to_unit(cv2.GaussianBlur(images.reshape(-1, 160, 3), (0, 0), 2).reshape(images.shape)))
    with tf.GradientTape() as tape:
        loss = identity_loss(embed, blurred, same, tf.constant(transforms))
    grad = tape.gradient(loss, blurred).numpy()
    assert float(loss) > 0 and np.abs(grad).max() > 0


def test_clean_samples_are_pure_blur_and_the_default_adds_noise() -> None:
    from research.blur_kernels import apply_kernel, heldout_kernels
    from research.deblur.data import Degradation, degrade

    rng_image = np.random.default_rng(0)
    face = rng_image.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    kernel = heldout_kernels()[3]
    assert np.array_equal(degrade(face, kernel, np.random.default_rng(1), Degradation(clean_prob=1.0)),
                          apply_kernel(face, kernel))
    noisy = degrade(face, kernel, np.random.default_rng(2))
    assert np.abs(noisy.astype(int) - apply_kernel(face, kernel).astype(int)).mean() > 0.5

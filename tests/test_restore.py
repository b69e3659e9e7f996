"""The restoration experiment's training data (research.restore.data): the identity term sees aligned faces."""

from __future__ import annotations

import numpy as np
import pytest

from enhancement.datasets import has_shared_data

needs_data = pytest.mark.skipif(not has_shared_data(), reason="../shared/data (LFW) is not present")


@needs_data
def test_its_flipped_training_samples_keep_the_chip_alignment() -> None:
    # The identity term warps output and target with the sample's chip map; on a flipped sample that map must
    # read the same aligned chip as on the unflipped one, or the term would compare misaligned faces.
    from research.deblur.identity import numpy_chips
    from research.restore import data

    face = data.load_faces("val", 1, limit=1)[0]
    top = left = (face.image.shape[0] - data.TARGET) // 2
    target = face.image[top : top + data.TARGET, left : left + data.TARGET]
    plain = numpy_chips(target[None], data.transform(face.affine, left, top, False)[None])[0]
    flipped = numpy_chips(np.ascontiguousarray(target[None, :, ::-1]),
                          data.transform(face.affine, left, top, True)[None])[0]
    assert np.abs(plain.astype(int) - flipped.astype(int)).mean() < 2.0
    # and a misaligned map (shifted by one LFW face width's tenth) is far from it, so the check can fail
    shifted = numpy_chips(np.ascontiguousarray(target[None, :, ::-1]),
                          data.transform(face.affine, left + 12, top, True)[None])[0]
    assert np.abs(plain.astype(int) - shifted.astype(int)).mean() > 5.0


@needs_data
def test_its_dark_samples_target_the_clean_face_at_the_same_exposure() -> None:
    from research.restore import data

    face = data.load_faces("val", 1, limit=1)[0]
    chain = data.Chain(blur_prob=0.0, light_prob=1.0, jpeg_prob=0.0, gain=(0.25, 0.25), jitter=0)
    small, target, _ = data.sample(face, np.random.default_rng(3), chain)
    top = (face.image.shape[0] - data.TARGET) // 2
    clean = face.image[top : top + data.TARGET, top : top + data.TARGET].astype(float)
    flipped = not np.allclose(target, data.darken(clean.astype(np.uint8), 0.25))
    expected = data.darken((clean[:, ::-1] if flipped else clean).astype(np.uint8), 0.25)
    assert np.array_equal(target, expected)
    assert small.shape == (data.TARGET // 4, data.TARGET // 4, 3)
    assert abs(small.mean() - target.mean()) < 3.0  # the input is as dark as its target, plus zero-mean noise

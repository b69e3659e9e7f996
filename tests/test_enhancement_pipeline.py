"""The enhancement pipeline on a real face: the policy's steps run, leave records, and replay byte for byte."""

import dataclasses

import cv2
import numpy as np
import pytest
from skimage import data

from enhancement.detect import crop_box, detect_faces
from enhancement.pipeline import STEPS, ReplayMismatch, StepUnavailable, enhance_face, replay
from enhancement.provenance import StepRecord, image_sha256


@pytest.fixture(scope="module")
def face():
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return crop_box(image, detect_faces(image)[0].box, margin=0.2)


def darken(crop):
    linear = (crop.astype(np.float32) / 255.0) ** 2.2 * 0.08
    return np.clip(linear ** (1 / 2.2) * 255.0, 0, 255).astype(np.uint8)


def test_it_brightens_a_dark_face_with_lime_and_records_it(face):
    dark = darken(face)
    result = enhance_face(dark)
    assert [r.step for r in result.records] == ["lime"]
    record = result.records[0]
    assert record.input_sha256 == image_sha256(dark) and record.output_sha256 == image_sha256(result.image)
    assert record.params["gamma"] == 0.8 and record.ai_enhanced is False and "numpy" in record.versions
    assert result.final_quality.luminance > result.quality.luminance + 30
    assert not result.ai_enhanced


def test_it_replays_the_records_to_the_same_bytes(face):
    result = enhance_face(darken(face), steps=["lime"])
    stored = [StepRecord.from_dict(r.to_dict()) for r in result.records]  # as if read back from a report
    again = replay(darken(face), stored)
    assert again.tobytes() == result.image.tobytes() and again.shape == result.image.shape


def test_it_refuses_to_replay_a_record_that_does_not_match(face):
    result = enhance_face(darken(face), steps=["lime"])
    tampered = dataclasses.replace(result.records[0], params={**result.records[0].params, "gamma": 0.7})
    with pytest.raises(ReplayMismatch, match="output differs"):
        replay(darken(face), [tampered])
    with pytest.raises(ReplayMismatch, match="input differs"):
        replay(face, result.records)


def test_it_leaves_a_clean_face_untouched(face):
    result = enhance_face(face)
    assert result.records == [] and result.image is face


def test_it_fails_on_an_unknown_step_it_was_asked_for(face):
    with pytest.raises(StepUnavailable, match="unknown enhancement step 'sharpen'"):
        enhance_face(face, steps=["sharpen"])


def test_it_sends_a_small_dark_face_to_lime_then_super_resolution_or_says_why_not(face):
    tiny = cv2.resize(darken(face), (32, 32), interpolation=cv2.INTER_AREA)
    result = enhance_face(tiny)
    steps = [r.step for r in result.records]
    assert steps[0] == "lime"
    if "srcnn" in steps:  # the SR module and its weights are present: it ran at the scale the policy chose
        record = result.records[1]
        assert record.params == {"scale": 4, "model": "face"} and record.ai_enhanced and record.weights_sha256
        assert result.image.shape[:2] == (128, 128)
        assert replay(tiny, result.records).tobytes() == result.image.tobytes()
    else:
        assert [s for s, _ in result.skipped] == ["srcnn"]


def test_it_names_every_step_the_architecture_promises():
    assert set(STEPS) == {"lime", "deblur", "srcnn"}

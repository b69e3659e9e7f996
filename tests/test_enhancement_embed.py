"""The dlib embedder on real LFW pairs: same-person pairs are closer than different-person pairs."""

import cv2
import numpy as np
import pytest
from skimage import data

from enhancement.datasets import has_shared_data, lfw_pairs
from enhancement.detect import detect_faces
from enhancement.dlib_models import model_info
from enhancement.embed import distance, embed_face, embed_faces
from enhancement.lfw import LFW_FALLBACK_BOX, lfw_face_box
from enhancement.match import DEFAULT_THRESHOLD

needs_data = pytest.mark.skipif(not has_shared_data(), reason="../shared/data is absent")


def embed_lfw(path):
    image = cv2.imread(str(path))
    return embed_face(image, lfw_face_box(image) or LFW_FALLBACK_BOX)


@needs_data
def test_it_puts_same_person_pairs_closer_than_different_person_pairs():
    pairs = lfw_pairs("pairsDevTest")
    subset = pairs[:15] + pairs[-15:]  # the file lists the 500 same-person pairs first, then 500 different ones
    distances = np.array([distance(embed_lfw(a), embed_lfw(b)) for a, b, _ in subset])
    same = np.array([s for _, _, s in subset])
    assert same.sum() == 15
    assert distances[same].mean() < distances[~same].mean()
    accuracy = ((distances < DEFAULT_THRESHOLD) == same).mean()
    assert accuracy >= 0.85, f"accuracy {accuracy:.2f} on 30 LFW pairs"


def test_it_embeds_the_same_face_alike_from_the_frame_and_from_a_crop_with_margin():
    frame = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    box = detect_faces(frame)[0].box
    x, y, w, h = box
    from_frame = embed_faces(frame, [box])[0]
    assert from_frame.vector.shape == (128,) and from_frame.vector.dtype == np.float32
    assert len(from_frame.landmarks) == 5
    # the aligned chip reaches 25 % beyond the face: a crop with that margin gives the same descriptor...
    mx, my = w // 2, h // 2
    crop = frame[y - my:y + h + my, x - mx:x + w + mx].copy()
    assert distance(from_frame.vector, embed_face(crop, (mx, my, w, h))) < 1e-4
    # ...while a tight crop loses the border the chip needs (dlib pads it black) and drifts measurably
    tight = distance(from_frame.vector, embed_face(frame[y:y + h, x:x + w].copy()))
    assert 0.05 < tight < DEFAULT_THRESHOLD


def test_it_reports_the_model_files_and_digests():
    info = model_info()
    assert info["resnet"]["file"] == "dlib_face_recognition_resnet_model_v1.dat"
    assert len(info["resnet"]["sha256"]) == 64


@needs_data
def test_it_computes_the_same_descriptors_in_tensorflow_as_dlib():
    """The TensorFlow port reads dlib's own weights file; on real LFW chips it must agree with dlib to 1e-4."""
    from enhancement.embed import aligned_chips, describe_chips

    paths = [p for a, b, _ in lfw_pairs("pairsDevTest")[200:204] for p in (a, b)]
    chips = []
    for path in paths:
        image = cv2.imread(str(path))
        chips += aligned_chips(image, [lfw_face_box(image) or LFW_FALLBACK_BOX])[0]
    by_dlib = describe_chips(chips, backend="dlib")
    by_tf = describe_chips(chips, backend="tf")
    assert by_tf.shape == (8, 128)
    assert np.abs(by_dlib - by_tf).max() < 1e-4
    with pytest.raises(ValueError, match="backend"):
        describe_chips(chips, backend="onnx")

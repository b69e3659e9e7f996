"""Face detection on real images: the astronaut photo and a fixed sample of LFW."""

import random

import cv2
import pytest
from skimage import data

from enhancement.datasets import has_shared_data, lfw_images, split_identities
from enhancement.detect import crop_box, detect_faces, iou

needs_data = pytest.mark.skipif(not has_shared_data(), reason="../shared/data is absent")

# Where the astronaut's face is in skimage.data.astronaut() (512x512), checked by eye.
ASTRONAUT_FACE = (170, 40, 90, 110)


def astronaut_bgr():
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def lfw_sample(n: int, seed: int = 1) -> list:
    paths = [p for ident in split_identities("eval") for p in lfw_images(ident)]
    random.Random(seed).shuffle(paths)
    return paths[:n]


def has_central_face(detections, shape) -> bool:
    """LFW images are centred on one face: count a hit when a box centre lies in the middle 30 % of the frame."""
    h, w = shape[:2]
    for d in detections:
        x, y, bw, bh = d.box
        if abs(x + bw / 2 - w / 2) < 0.15 * w and abs(y + bh / 2 - h / 2) < 0.15 * h:
            return True
    return False


def test_it_finds_the_astronauts_face_with_haar():
    found = detect_faces(astronaut_bgr(), "haar")
    assert found, "Haar found no face in the astronaut image"
    assert max(iou(d.box, ASTRONAUT_FACE) for d in found) > 0.4


def test_it_finds_the_astronauts_face_and_five_landmarks_with_mtcnn():
    found = detect_faces(astronaut_bgr(), "mtcnn")
    best = found[0]
    assert iou(best.box, ASTRONAUT_FACE) > 0.4
    assert best.confidence > 0.9
    assert len(best.landmarks) == 5
    (lx, ly), (rx, ry) = best.landmarks[0], best.landmarks[1]
    x, y, w, h = best.box
    assert x < lx < x + w and x < rx < x + w and abs(ly - ry) < h / 4  # both eyes inside the box, roughly level


@needs_data
def test_it_finds_at_least_ninety_percent_of_a_fixed_lfw_sample_with_haar():
    paths = lfw_sample(200)
    hits = sum(has_central_face(detect_faces(cv2.imread(str(p)), "haar"), (250, 250)) for p in paths)
    assert hits / len(paths) >= 0.90, f"Haar recall {hits}/{len(paths)}"


def test_it_rejects_an_unknown_detector_and_a_float_image():
    with pytest.raises(ValueError, match="unknown detector"):
        detect_faces(astronaut_bgr(), "yolo")
    with pytest.raises(ValueError, match="uint8"):
        detect_faces(astronaut_bgr().astype("float32"), "haar")


def test_it_clips_a_crop_at_the_frame_edge():
    image = astronaut_bgr()
    crop = crop_box(image, (480, 480, 64, 64), margin=0.25)
    assert crop.shape == (32 + 16, 32 + 16, 3)


@needs_data
def test_it_finds_a_large_face_with_mtcnn_when_small_faces_are_excluded():
    """mtcnn 1.0 alone returns nothing for min_face_size > 20 on a 1080p frame; detect_faces works around it."""
    from enhancement.datasets import shared_data_dir

    frame = cv2.imread(str(shared_data_dir() / "face_recognition_examples" / "obama-1080p.jpg"))
    default = detect_faces(frame, "mtcnn")[0]
    large_only = detect_faces(frame, "mtcnn", min_face_size=60)
    assert large_only, "no face found with min_face_size=60"
    assert iou(large_only[0].box, default.box) > 0.7

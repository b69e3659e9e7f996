"""Hypothesis fuzzing of the upload validation and of the enhancement library's entry points.

Arbitrary bytes (and real headers with arbitrary tails) given to the upload checks end in a ``ValidationError`` or
an accepted file, never another exception; arrays of arbitrary shape and dtype given to the library's entry points
raise a ``ValueError`` that says what was wrong, or work, and never take the process down.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from enhancement.imageio import ImageDecodeError, decode_image, inspect_image
from facecase.files import check_footage, clean_original_name
from tests.media_corpus import astronaut_jpeg, astronaut_png, long_gif

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADERS = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"RIFF\0\0\0\0WEBP", b"RIFF\0\0\0\0AVI ",
           b"\0\0\0\x18ftypisom", b"\x1a\x45\xdf\xa3", b"\0\0\0\x01\x67", b"YUV4MPEG2 ", b"<svg", b"PK\x03\x04"]


@st.composite
def upload_bytes(draw: Any) -> bytes:
    """Random bytes behind a real format's magic, or a real file cut and spliced with random bytes."""
    if draw(st.booleans()):
        return draw(st.sampled_from(HEADERS)) + draw(st.binary(max_size=2048))
    real = draw(st.sampled_from([astronaut_jpeg, astronaut_png, long_gif]))()
    cut = draw(st.integers(0, len(real)))
    return real[:cut] + draw(st.binary(max_size=512)) + real[cut + draw(st.integers(0, 64)):]


_REAL: dict[str, bytes] = {}


@pytest.fixture(scope="module", autouse=True)
def warm_real_files() -> None:  # build the real files once: drawing them must not be the slow part
    for maker in (astronaut_jpeg, astronaut_png):
        _REAL[maker.__name__] = maker()


@FUZZ
@given(data=upload_bytes())
def test_it_accepts_or_refuses_any_uploaded_bytes_with_a_reason(data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        try:
            kind, width, height, content_type = check_footage(path)
        except ValidationError as exc:
            assert exc.messages and all(message.strip() for message in exc.messages)
        else:
            assert kind in ("image", "video") and content_type


@FUZZ
@given(data=upload_bytes())
def test_it_decodes_any_bytes_or_says_why(data: bytes):
    try:
        image = decode_image(data)
    except ImageDecodeError as exc:
        assert str(exc)
    else:
        info = inspect_image(data)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert image.shape[:2] == (info.height, info.width)


@FUZZ
@given(name=st.text(max_size=400))
def test_it_cleans_any_upload_name(name: str):
    clean = clean_original_name(name)
    assert 0 < len(clean) <= 255
    assert "/" not in clean and "\\" not in clean
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u202e\u200b\ufeff" for c in clean)


# --- the enhancement library ----------------------------------------------------------------------------------

DTYPES = st.sampled_from([np.uint8, np.uint16, np.int8, np.int32, np.float32, np.float64, np.bool_, np.complex64])


@st.composite
def arrays(draw: Any) -> np.ndarray:
    """Any small array: the right layout (uint8, H x W x 3) often enough to exercise the work itself."""
    if draw(st.booleans()):
        shape = (draw(st.integers(0, 48)), draw(st.integers(0, 48)), 3)
        return draw(hnp.arrays(np.uint8, shape))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=12))
    return draw(hnp.arrays(draw(DTYPES), shape))


def entry_points() -> dict[str, Any]:
    from enhancement.detect import crop_box, detect_faces
    from enhancement.frames import crop_quality, crop_with_margin
    from enhancement.lime import lime_step
    from enhancement.pipeline import enhance_face
    from enhancement.quality import measure_quality
    from enhancement.video import MotionGate

    return {
        "detect_faces": lambda a: detect_faces(a),
        "measure_quality": measure_quality,
        "enhance_face(lime)": lambda a: enhance_face(a, steps=["lime"]),
        "enhance_face(auto)": lambda a: enhance_face(a),
        "lime_step": lambda a: lime_step(a, {}),
        "crop_box": lambda a: crop_box(a, (1, 1, 4, 4), margin=0.2),
        "crop_quality": crop_quality,
        "crop_with_margin": lambda a: crop_with_margin(a, (1, 1, 4, 4)),
        "motion_gate": lambda a: MotionGate().update(a),
    }


ENTRY_POINTS = list(entry_points())


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_it_answers_any_array_with_a_result_or_a_value_error(entry: str):
    call = entry_points()[entry]

    @FUZZ
    @given(array=arrays())
    def run(array: np.ndarray) -> None:
        try:
            call(array)
        except ValueError as exc:
            assert str(exc)

    run()


@FUZZ
@given(array=arrays(), box=st.tuples(*[st.integers(-50, 80)] * 4))
def test_it_embeds_only_a_face_box_inside_a_valid_image(array: np.ndarray, box: tuple[int, int, int, int]):
    from enhancement.embed import embed_face

    assume(array.size < 5000)
    try:
        vector = embed_face(array, box=box)
    except ValueError as exc:
        assert str(exc)
    else:
        assert vector.shape == (128,) and np.isfinite(vector).all()

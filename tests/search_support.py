"""What the face-search stories share: the real clips they cut, a fresh sighting index per test, stills from a clip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import pytest
from conftest import SHARED_DATA

from facesearch import index as sighting_index

HDTF_CLIP = SHARED_DATA / "hdtf_clip_sadtalker" / "ref_video" / "WDA_AlexandriaOcasioCortez_000.mp4"
BBT = SHARED_DATA / "faceapi_bbt" / "images"


@pytest.fixture(autouse=True)
def fresh_index(settings: Any, tmp_path: Path) -> Any:
    """Each test's index lives in its own VAR_DIR and starts empty in this process."""
    settings.VAR_DIR = tmp_path / "var"
    sighting_index.forget()
    yield
    sighting_index.forget()


def still_from(path: Path, frame_index: int) -> bytes:
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
    ok, frame = capture.read()
    capture.release()
    assert ok
    return cv2.imencode(".jpg", frame)[1].tobytes()

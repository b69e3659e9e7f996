"""Where dlib's two model files are (the ``face-recognition-models`` wheel) and their digests, for the embedder
(``enhancement.embed``), its TensorFlow twin (``enhancement.embed_tf``) and provenance records.

That package's ``__init__`` imports ``pkg_resources`` (absent from modern setuptools), so we locate its files with
``importlib.util.find_spec`` without importing it.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from .weights import WeightsError, read_manifest, sha256_file

MODEL_FILES = {"landmarks": "shape_predictor_5_face_landmarks.dat",
               "resnet": "dlib_face_recognition_resnet_model_v1.dat"}


def model_path(kind: str) -> Path:
    """The model file, after checking its sha256 against ``weights/manifest.json`` like every shipped weight: a
    different wheel build or an altered file is refused rather than silently changing every descriptor."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("the face-recognition-models package is not installed")
    path = Path(spec.submodule_search_locations[0]) / "models" / MODEL_FILES[kind]
    return _verified(str(path))


@cache
def _verified(path_text: str) -> Path:
    path = Path(path_text)
    if not path.exists():
        raise WeightsError(f"dlib model file missing: {path}")
    expected = read_manifest().get(path.name)
    if expected is None:
        raise WeightsError(f"dlib model file {path.name} has no entry in weights/manifest.json")
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(f"dlib model file {path} has sha256 {actual}, expected {expected} (weights/manifest.json)")
    return path


@cache
def model_info() -> dict[str, Any]:
    """File names and sha256 of the two dlib models, for provenance records and the calibration file."""
    return {kind: {"file": MODEL_FILES[kind], "sha256": sha256_file(model_path(kind))} for kind in MODEL_FILES}

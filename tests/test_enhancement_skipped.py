"""A step the measured quality asks for but that cannot load (its weights missing or altered) is never dropped
silently: the crop's result lists it as skipped with the reason, and the other steps still run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT

PROBE = """
import json, cv2
from skimage import data
from enhancement.analysis.config import AnalysisConfig
from enhancement.analysis.steps import enhance_crop
face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[20:240, 140:340]
small = cv2.resize(face, (40, 44), interpolation=cv2.INTER_AREA)
enhanced, records, skipped = enhance_crop(small, AnalysisConfig())
print(json.dumps({"steps": [r.step for r in records], "skipped": skipped}))
"""


def run_probe(weights_dir: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                         env={"FACECASE_WEIGHTS_DIR": str(weights_dir), "PATH": "/usr/bin:/bin",
                              "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_it_lists_a_step_whose_weights_are_altered_as_skipped_with_the_reason(tmp_path: Path):
    intact = run_probe(REPO_ROOT / "weights")
    assert "srcnn" in intact["steps"] and not intact["skipped"]  # a 40 px face asks for super-resolution

    weights = tmp_path / "weights"
    shutil.copytree(REPO_ROOT / "weights", weights)
    for path in weights.glob("srcnn_*.weights.h5"):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    altered = run_probe(weights)

    assert "srcnn" not in altered["steps"]
    reasons = [s["reason"] for s in altered["skipped"] if s["step"] == "srcnn"]
    assert reasons and "sha256" in reasons[0]
    assert [s for s in intact["steps"] if s != "srcnn"] == altered["steps"]  # the other steps still ran


def test_it_refuses_dlib_model_files_that_do_not_match_the_manifest(tmp_path: Path):
    weights = tmp_path / "weights"
    shutil.copytree(REPO_ROOT / "weights", weights)
    manifest = json.loads((weights / "manifest.json").read_text())
    manifest["dlib_face_recognition_resnet_model_v1.dat"] = "0" * 64  # as if another build of the wheel were installed
    (weights / "manifest.json").write_text(json.dumps(manifest))
    probe = ("from enhancement.dlib_models import model_path\n"
             "from enhancement.weights import WeightsError\n"
             "print(model_path('landmarks').name)\n"
             "try:\n    model_path('resnet')\nexcept WeightsError as exc:\n    print('refused:', exc)\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                         env={"FACECASE_WEIGHTS_DIR": str(weights), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "shape_predictor_5_face_landmarks.dat" in out.stdout
    assert "refused: dlib model file" in out.stdout and "expected 0000" in out.stdout

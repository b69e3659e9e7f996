"""``python -m enhancement`` as a user runs it: real files, a real subprocess, clean errors."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data

REPO = Path(__file__).resolve().parent.parent


def run(*args):
    return subprocess.run([sys.executable, "-m", "enhancement", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_it_rejects_a_corrupt_image_with_a_clear_message(tmp_path):
    corrupt = tmp_path / "frame.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG" * 10)
    result = run("enhance", corrupt, "-o", tmp_path / "out.png")
    assert result.returncode == 2
    assert "error: cannot decode" in result.stderr and "corrupt" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.png").exists()


def test_it_rejects_a_missing_file_and_a_text_file(tmp_path):
    missing = run("detect", tmp_path / "nope.png")
    assert missing.returncode == 2 and "input file not found" in missing.stderr
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = run("detect", text)
    assert result.returncode == 2 and "not an image" in result.stderr and "Traceback" not in result.stderr


def test_it_prints_the_astronauts_face_as_json(tmp_path):
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    result = run("detect", path)
    assert result.returncode == 0, result.stderr
    faces = json.loads(result.stdout)["faces"]
    x, y, w, h = faces[0]["box"]
    assert 150 < x + w / 2 < 260 and 50 < y + h / 2 < 150


def test_it_enhances_a_dark_face_and_writes_the_report(tmp_path):
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[30:170, 160:270]
    dark = np.clip((image.astype(np.float32) / 255.0) ** 2.2 * 0.08, 0, 1) ** (1 / 2.2) * 255
    src = tmp_path / "dark.png"
    cv2.imwrite(str(src), dark.astype(np.uint8))
    result = run("enhance", src, "-o", tmp_path / "out.png", "--report", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [s["step"] for s in report["steps"]] == ["lime"]
    out = cv2.imread(str(tmp_path / "out.png"))
    assert out.shape == dark.shape and out.mean() > dark.mean() + 30


def test_it_names_an_unknown_step(tmp_path):
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), np.full((64, 64, 3), 90, np.uint8))
    result = run("enhance", src, "-o", tmp_path / "b.png", "--steps", "lime,sharpen")
    assert result.returncode == 2 and "unknown enhancement step 'sharpen'" in result.stderr

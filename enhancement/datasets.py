"""Locate the shared public data (``../shared/data``) and the committed LFW identity split.

Nothing here copies data into the repository: callers read it where it lies. ``FACECASE_SHARED_DATA``
overrides the location; functions raise ``FileNotFoundError`` with a clear message when it is absent
(a fresh clone without ``../shared`` still runs the product, just not the training or the benchmarks).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SPLITS_DIR = REPO_ROOT / "weights" / "splits"


def shared_data_dir() -> Path:
    path = Path(os.environ.get("FACECASE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        raise FileNotFoundError(f"shared data folder not found at {path} (set FACECASE_SHARED_DATA)")
    return path


def has_shared_data() -> bool:
    try:
        shared_data_dir()
    except FileNotFoundError:
        return False
    return True


def lfw_dir() -> Path:
    return shared_data_dir() / "lfw"


@cache
def split_identities(name: str) -> tuple[str, ...]:
    """``name`` is ``train``, ``val`` or ``eval``; see ``weights/splits/README.md``."""
    lines = (SPLITS_DIR / f"lfw_{name}_identities.txt").read_text().split()
    return tuple(lines)


def lfw_images(identity: str) -> list[Path]:
    return sorted((lfw_dir() / "images_deepfunneled" / identity).glob("*.jpg"))


def assert_disjoint() -> None:
    """Training identities (train + val) must never appear in any evaluation set."""
    train = set(split_identities("train")) | set(split_identities("val"))
    evaluation = set(split_identities("eval"))
    overlap = train & evaluation
    if overlap:
        raise AssertionError(
            f"{len(overlap)} training identities appear in the evaluation split: {sorted(overlap)[:5]}"
        )


def lfw_pairs(name: str = "pairsDevTest") -> list[tuple[Path, Path, bool]]:
    """Parse an LFW pairs file into (image_a, image_b, same_person); skips pairs whose images are absent."""
    lines = (lfw_dir() / f"{name}.txt").read_text().strip().split("\n")[1:]
    root = lfw_dir() / "images_deepfunneled"
    pairs = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) == 3:
            a = root / parts[0] / f"{parts[0]}_{int(parts[1]):04d}.jpg"
            b = root / parts[0] / f"{parts[0]}_{int(parts[2]):04d}.jpg"
            same = True
        else:
            a = root / parts[0] / f"{parts[0]}_{int(parts[1]):04d}.jpg"
            b = root / parts[2] / f"{parts[2]}_{int(parts[3]):04d}.jpg"
            same = False
        if a.exists() and b.exists():
            pairs.append((a, b, same))
    return pairs

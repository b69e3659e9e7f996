"""LFW faces as the matcher's calibration reads them: the central face's box and the cached embeddings.

``research.calibrate_matcher`` writes the cache (``runs/lfw_embeddings.npz``, keyed by the image path relative to
the LFW folder); ``manage.py calibrate`` reads it back to mix LFW pairs with operators' verdicts.
Boxes are ``(x, y, w, h)`` in the 250x250 deep-funneled images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .datasets import REPO_ROOT, lfw_dir
from .detect import Box, detect_faces

CACHE = REPO_ROOT / "runs" / "lfw_embeddings.npz"
LFW_FALLBACK_BOX: Box = (68, 67, 115, 115)


def lfw_face_box(image: np.ndarray) -> Box | None:
    h, w = image.shape[:2]
    central = [d for d in detect_faces(image, "haar")
               if abs(d.box[0] + d.box[2] / 2 - w / 2) < 0.15 * w and abs(d.box[1] + d.box[3] / 2 - h / 2) < 0.15 * h]
    if not central:
        return None
    return max(central, key=lambda d: d.box[2] * d.box[3]).box


def load_cache(path: Path = CACHE) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    data = np.load(path)
    return {str(k): v for k, v in zip(data["keys"], data["vectors"], strict=True)}


def save_cache(cache: dict[str, np.ndarray], path: Path = CACHE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(cache)
    np.savez(path, keys=np.array(keys), vectors=np.stack([cache[k] for k in keys]))


def pair_distances(pairs: list[tuple[Path, Path, bool]], vectors: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    root = lfw_dir()
    d = np.array([np.linalg.norm(vectors[str(a.relative_to(root))] - vectors[str(b.relative_to(root))])
                  for a, b, _ in pairs])
    same = np.array([s for _, _, s in pairs])
    return d, same

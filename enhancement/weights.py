"""Shipped model weights: locate them under ``weights/`` and verify their SHA-256 before use.

``weights/manifest.json`` maps each weights file name to its sha256 (the model cards repeat it).
A file whose digest does not match is refused with an error that names the file and the digest
we expected, so a corrupted or swapped model can never silently produce evidence.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path

WEIGHTS_DIR = Path(os.environ.get("FACECASE_WEIGHTS_DIR", Path(__file__).resolve().parent.parent / "weights"))
MANIFEST = "manifest.json"


class WeightsError(RuntimeError):
    """A weights file is missing, unreadable or does not match its recorded sha256."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(weights_dir: Path = WEIGHTS_DIR) -> dict[str, str]:
    path = weights_dir / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def record_in_manifest(path: str | os.PathLike, weights_dir: Path = WEIGHTS_DIR) -> str:
    """Write (or update) the manifest entry for ``path``; used by the training commands."""
    path = Path(path)
    digest = sha256_file(path)
    manifest = read_manifest(weights_dir)
    manifest[path.name] = digest
    tmp = weights_dir / f".{MANIFEST}.tmp"  # readers never see a half-written manifest
    tmp.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")
    tmp.replace(weights_dir / MANIFEST)
    return digest


def verified_path(name: str, weights_dir: Path = WEIGHTS_DIR, expected: str | None = None) -> Path:
    """Return the path of weights file ``name`` after checking its sha256 against the manifest."""
    return _verified(name, str(weights_dir), expected)


@cache
def _verified(name: str, weights_dir: str, expected: str | None) -> Path:
    path = Path(weights_dir) / name
    if expected is None:
        expected = read_manifest(Path(weights_dir)).get(name)
    if expected is None:
        raise WeightsError(f"weights file {path} is not listed in {Path(weights_dir) / MANIFEST}")
    if not path.exists():
        raise WeightsError(f"weights file {path} is missing (expected sha256 {expected})")
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(f"weights file {path} is corrupt or was replaced: sha256 {actual}, expected {expected}")
    return path

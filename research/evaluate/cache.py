"""Content-addressed cache of face embeddings under ``runs/`` (git-ignored).

Key: the pixel digest of the image (``provenance.image_sha256``) plus the face box, so a probe that an enhancement
step left unchanged, or an image seen in an earlier run, is embedded once. The file name carries the embedder's
tag, so a different embedder never reads another's vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from enhancement.provenance import image_sha256

Box = tuple[int, int, int, int]


def code_tag(*modules: str) -> str:
    """Short digest of the named modules' source: a change to the embedder (or detector) starts a fresh cache."""
    import hashlib
    import importlib.util

    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        digest.update(Path(spec.origin).read_bytes() if spec and spec.origin else name.encode())
    return digest.hexdigest()[:12]


class EmbeddingCache:
    """``embed`` is the teacher (dlib's network); ``others`` maps more embedder names (e.g. ``student``) to their
    functions, and ``tags`` each name to the prefix of its keys (the name plus its weights' digest)."""

    def __init__(self, path: Path | None, embed: Callable[[np.ndarray, Box], np.ndarray], save_every: int = 400,
                 others: dict[str, Callable[[np.ndarray, Box], np.ndarray]] | None = None,
                 tags: dict[str, str] | None = None):
        self.path = path
        self.embed_fn = embed
        self.others = dict(others or {})
        self.tags = dict(tags or {})  # embedder name -> key prefix (the name plus its weights' digest)
        self.save_every = save_every
        self.vectors: dict[str, np.ndarray] = {}
        self.hits = 0
        self.misses = 0
        self._unsaved = 0
        if path is not None and path.exists():
            with np.load(path) as data:
                self.vectors = {k: data[k] for k in data.files}

    def embed(self, image: np.ndarray, box: Box, embedder: str | None = None) -> np.ndarray:
        key = f"{image_sha256(image)}_{'_'.join(str(int(v)) for v in box)}"
        fn = self.embed_fn
        if embedder is not None:
            fn = self.others[embedder]
            key = f"{self.tags.get(embedder, embedder)}/{key}"
        vec = self.vectors.get(key)
        if vec is not None:
            self.hits += 1
            return vec
        self.misses += 1
        vec = np.asarray(fn(image, box), dtype=np.float32).reshape(-1)
        self.vectors[key] = vec
        self._unsaved += 1
        if self._unsaved >= self.save_every:
            self.save()
        return vec

    def save(self) -> None:
        if self.path is None or not self._unsaved:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, **self.vectors)
        tmp.replace(self.path)
        self._unsaved = 0


class ProbeCache:
    """What treating one probe crop with one variant gave: the embedding, fidelity, time and steps.

    Lets a rerun (a report fix, a larger sample) skip the enhancement steps themselves, not only the embedder.
    The caller puts in the file name a tag of every module and weights manifest the result depends on.
    """

    def __init__(self, path: Path | None):
        import pickle

        self.path = path
        self.entries: dict[str, dict] = {}
        self._unsaved = 0
        if path is not None and path.exists():
            with path.open("rb") as fh:
                self.entries = pickle.load(fh)  # our own file under runs/, never downloaded

    @staticmethod
    def key(crop: np.ndarray, box: Box, variant: str, policy: object = None, weights: str = "") -> str:
        """``weights``: digest of the weights the variant may use, so new weights only invalidate their users."""
        return f"{image_sha256(crop)}|{tuple(box)}|{variant}|{policy!r}|{weights}"

    def get(self, key: str) -> dict | None:
        return self.entries.get(key)

    def put(self, key: str, entry: dict) -> None:
        self.entries[key] = entry
        self._unsaved += 1
        if self._unsaved >= 200:
            self.save()

    def save(self) -> None:
        import pickle

        if self.path is None or not self._unsaved:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(self.entries, fh)
        tmp.replace(self.path)
        self._unsaved = 0


def student_tag() -> str:
    """``student-<first 12 hex digits of its sha256>``: names what was embedded with the shipped student weights
    (the embedding cache's student column, the tracks cache). Raises ``KeyError`` when the manifest does not list the
    weights and ``enhancement.weights.WeightsError`` when the file is missing or altered."""
    from enhancement.student import STUDENT_WEIGHTS
    from enhancement.weights import read_manifest, verified_path

    digest = read_manifest()[STUDENT_WEIGHTS][:12]
    verified_path(STUDENT_WEIGHTS)
    return f"student-{digest}"

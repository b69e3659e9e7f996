"""The sighting index (``enhancement.index.FaceIndex``) on real descriptors: every backend agrees with the exact
search, filters before counting, survives a save/load, and skips ids it already holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from enhancement.index import FaceIndex
from enhancement.lfw import load_cache


@pytest.fixture(scope="module")
def descriptors() -> np.ndarray:
    """Real dlib descriptors: the LFW pairsDevTrain cache when present, else faces embedded here."""
    cache = [v for k, v in load_cache().items() if "/" in k]
    if len(cache) >= 200:
        return np.stack(cache[:600]).astype(np.float32)
    import cv2
    from conftest import SHARED_DATA

    from enhancement.embed import embed_face

    paths = sorted((SHARED_DATA / "faceapi_bbt" / "images").glob("*/*.png"))
    if not paths:
        pytest.skip("no cached LFW embeddings and no ../shared/data faces")
    return np.stack([embed_face(cv2.imread(str(p))) for p in paths]).astype(np.float32)


@pytest.mark.parametrize("kind", ["exact", "hnsw", "ivf"])
def test_it_finds_the_same_neighbours_as_exact_search(descriptors: np.ndarray, kind: str, tmp_path: Path):
    ids = np.arange(100, 100 + len(descriptors))
    index = FaceIndex.build(ids, descriptors, kind=kind, **({"nlist": 4, "nprobe": 4} if kind == "ivf" else {}))
    probe = descriptors[7] + 0.01
    exact = np.argsort(np.linalg.norm(descriptors - probe, axis=1))[:5]
    found = index.search(probe, 5)
    assert [n.id for n in found] == [int(ids[i]) for i in exact]
    assert np.allclose([n.distance for n in found], np.linalg.norm(descriptors[exact] - probe, axis=1), atol=1e-4)

    odd = index.search(probe, 5, accept=lambda candidates: {i for i in candidates if i % 2})
    assert len(odd) == 5 and all(n.id % 2 for n in odd)
    near = index.search(probe, 50, max_distance=0.5)
    assert near and all(n.distance <= 0.5 for n in near)

    index.save(tmp_path / kind)
    loaded, meta = FaceIndex.load(tmp_path / kind)
    assert meta["kind"] == kind and len(loaded) == len(index) and loaded.max_id == int(ids[-1])
    assert [n.id for n in loaded.search(probe, 5)] == [n.id for n in found]
    assert loaded.add(ids[:3], descriptors[:3]) == 0  # already held
    assert loaded.add([5000], descriptors[:1]) == 1 and 5000 in loaded
    assert np.allclose(loaded.vectors_of([5000])[5000], descriptors[0], atol=1e-6)


@pytest.mark.parametrize("kind", ["exact", "hnsw", "ivf"])
def test_it_replaces_a_held_vector_on_update_instead_of_adding_a_duplicate(descriptors: np.ndarray, kind: str,
                                                                            tmp_path: Path):
    ids = np.arange(1, 1 + len(descriptors))
    index = FaceIndex.build(ids, descriptors, kind=kind, **({"nlist": 4, "nprobe": 4} if kind == "ivf" else {}))
    before = len(index)
    # sighting 3's descriptor improves: it becomes (nearly) the descriptor of row 20
    assert index.update([3, 10_000], np.stack([descriptors[20] + 0.001, descriptors[21]])) == 2
    assert len(index) == before + 1 and 3 in index and 10_000 in index
    near_20 = [n.id for n in index.search(descriptors[20], 3)]
    assert near_20[:2] in ([21, 3], [3, 21])  # 3 now sits beside row 20 (id 21), once
    assert all(n.id != 3 for n in index.search(descriptors[2], 5))  # its old vector is gone
    hits = [n.id for n in index.search(descriptors[20], len(descriptors) + 5)]
    assert hits.count(3) == 1 and len(hits) == len(set(hits))
    assert np.allclose(index.vectors_of([3])[3], descriptors[20] + 0.001, atol=1e-6)

    index.save(tmp_path / kind)
    loaded, _ = FaceIndex.load(tmp_path / kind)
    assert len(loaded) == len(index) and [n.id for n in loaded.search(descriptors[20], 3)] == near_20

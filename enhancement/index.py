"""A nearest-neighbour index of face descriptors keyed by integer ids (sighting primary keys).

Conventions: vectors are 128-d float32 dlib descriptors (``enhancement.embed``), distances Euclidean (as in
``enhancement.match``), ids int64. The index holds vectors only: who may see which id, and whether the id still
exists, is the caller's business (it over-fetches and filters, see ``search``'s ``accept``).

Three backends behind one class:
- ``exact``: NumPy brute force (one ``einsum`` per query, as ``enhancement.match.Gallery``), used while the index is
  small (``EXACT_MAX``) or when FAISS is not installed;
- ``hnsw``: FAISS ``IndexHNSWFlat`` (graph search; inserts are incremental, no training). Parameters ``HNSW_M``,
  ``HNSW_EF_CONSTRUCTION``, ``HNSW_EF_SEARCH``;
- ``ivf``: FAISS ``IndexIVFFlat`` (k-means cells trained at build on the stored descriptors, ``IVF_NPROBE`` cells
  scanned per query; inserts only assign a cell, so they stay cheap, and building is much faster than HNSW's graph).
The parameters were chosen with ``benchmarks/face_search.py`` (recall@10 against exact search, p95 latency): see
``docs/benchmarks/face_search.md``.
``FaceIndex.build(..., kind="auto")`` picks exact up to ``EXACT_MAX`` vectors and IVF above (at 1M descriptors on
our two shared cores: exact p95 83 ms, IVF p95 5 ms with recall@10 0.99 and a 23 s build, HNSW's graph ~6 min to
build); an index that grows past ``EXACT_MAX`` by inserts keeps its kind until the next rebuild (the hourly
consolidation rebuilds; an exact index is never wrong, only slower).

Updates: ``update(ids, vectors)`` replaces the vectors of ids already held (a live camera track whose later crops
gave a better descriptor) and adds the others, so an id is never held twice. The exact index overwrites the row in
place; the FAISS indexes cannot, so the old row is marked dead (its id map entry becomes ``DEAD``, skipped by every
search) and the new vector appended; dead rows cost memory until the next rebuild.

Files: ``save(folder)`` writes ``meta.json`` plus ``ids.npy`` and either ``vectors.npy`` or ``<kind>.faiss``, each
replaced atomically, so a reader never sees half a snapshot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

DIM = 128
EXACT_MAX = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
IVF_NPROBE = 24
KINDS = ("exact", "hnsw", "ivf")
DEAD = -1  # the id map entry of a FAISS row whose vector was replaced by ``update``


FAISS_THREADS = 1  # OpenMP threads per call: one query or one insert is too small to share, and on busy cores the
# threads wait for each other (single inserts: 840/s with 2 threads, 36,500/s with 1, at 100k IVF on our 2 cores)


@cache
def _faiss() -> Any:
    import faiss

    faiss.omp_set_num_threads(FAISS_THREADS)
    return faiss


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Neighbour:
    id: int
    distance: float


def _as_matrix(vectors: np.ndarray | Iterable[np.ndarray]) -> np.ndarray:
    matrix = np.asarray(vectors if isinstance(vectors, np.ndarray) else list(vectors), dtype=np.float32)
    return np.ascontiguousarray(matrix.reshape(-1, DIM))


class FaceIndex:
    """Ids and descriptors; ``add`` appends, ``search`` returns the nearest ids with Euclidean distances."""

    def __init__(self, kind: str = "exact", *, m: int = HNSW_M, ef_construction: int = HNSW_EF_CONSTRUCTION,
                 ef_search: int = HNSW_EF_SEARCH, nlist: int = 1024, nprobe: int = IVF_NPROBE,
                 training: np.ndarray | None = None) -> None:
        """``training``: descriptors to learn the IVF cells from (required for ``ivf``, ignored otherwise)."""
        if kind not in KINDS:
            raise ValueError(f"unknown index kind {kind!r}; expected one of {KINDS}")
        self.kind = kind
        self.params = {"m": m, "ef_construction": ef_construction, "ef_search": ef_search, "nlist": nlist,
                       "nprobe": nprobe}
        self._ids = np.zeros(0, np.int64)
        self._known: set[int] = set()
        self._count = 0  # rows, dead ones included
        self._dead = 0
        if kind == "exact":
            self._vectors = np.zeros((1024, DIM), np.float32)
            self._sq = np.zeros(1024, np.float32)
        elif kind == "hnsw":
            faiss = _faiss()

            self._faiss = faiss.IndexHNSWFlat(DIM, m)
            self._faiss.hnsw.efConstruction = ef_construction
            self._faiss.hnsw.efSearch = ef_search
        elif training is not None:
            faiss = _faiss()

            self._quantizer = faiss.IndexFlatL2(DIM)
            self._faiss = faiss.IndexIVFFlat(self._quantizer, DIM, nlist)
            self._faiss.train(_as_matrix(training))
            self._faiss.nprobe = nprobe

    @classmethod
    def build(cls, ids: Iterable[int] | np.ndarray, vectors: np.ndarray, kind: str = "auto",
              **params: Any) -> FaceIndex:
        ids = _as_ids(ids)
        if kind == "auto":
            kind = "ivf" if len(ids) > EXACT_MAX and faiss_available() else "exact"
        if kind == "ivf":
            matrix = _as_matrix(vectors)
            nlist = params.pop("nlist", None) or int(min(1024, max(16, np.sqrt(len(matrix)))))
            sample = matrix[np.random.default_rng(0).permutation(len(matrix))[: 40 * nlist]]
            index = cls(kind, nlist=nlist, training=sample, **params)
        else:
            index = cls(kind, **params)
        index.add(ids, vectors)
        return index

    def __len__(self) -> int:
        return self._count - self._dead

    def __contains__(self, id_: int) -> bool:
        return int(id_) in self._known

    @property
    def max_id(self) -> int:
        return int(self._ids[: self._count].max()) if self._count else 0

    def memory_bytes(self) -> int:
        """Bytes held by the vectors, norms, graph and id map (the Python set of ids included, roughly)."""
        known = len(self._known) * 60  # a CPython int in a set: ~28 B object + ~32 B slot
        if self.kind == "exact":
            return int(self._vectors.nbytes + self._sq.nbytes + self._ids.nbytes + known)
        faiss = _faiss()

        if self.kind == "ivf":  # the vectors, an 8-byte id per vector in the inverted lists, the centroids
            return int(self._count * (DIM * 4 + 8) + self.params["nlist"] * DIM * 4 + self._ids.nbytes + known)
        graph = faiss.vector_to_array(self._faiss.hnsw.neighbors).nbytes
        return int(self._count * DIM * 4 + graph + self._ids.nbytes + known)

    def add(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray | Iterable[np.ndarray]) -> int:
        """Append vectors under ``ids``; ids already present are skipped (re-adding is harmless). Returns how many
        were added."""
        new = _as_ids(ids)
        matrix = _as_matrix(vectors)
        if len(new) != len(matrix):
            raise ValueError(f"{len(matrix)} vectors but {len(new)} ids")
        fresh = np.array([i not in self._known for i in new.tolist()], bool) if len(new) else np.zeros(0, bool)
        new, matrix = new[fresh], matrix[fresh]
        if len(new) != len(set(new.tolist())):
            new, first = np.unique(new, return_index=True)
            matrix = matrix[first]
        n = len(new)
        if not n:
            return 0
        end = self._count + n
        if end > len(self._ids):
            self._ids = np.resize(self._ids, max(end, 2 * len(self._ids), 1024))
        self._ids[self._count:end] = new
        if self.kind == "exact":
            if end > len(self._vectors):
                size = max(end, 2 * len(self._vectors))
                grown = np.zeros((size, DIM), np.float32)
                grown[: self._count] = self._vectors[: self._count]
                self._vectors = grown
                self._sq = np.resize(self._sq, size)
            self._vectors[self._count:end] = matrix
            self._sq[self._count:end] = np.einsum("ij,ij->i", matrix, matrix)
        else:
            self._faiss.add(matrix)
        self._known.update(new.tolist())
        self._count = end
        return n

    def update(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray | Iterable[np.ndarray]) -> int:
        """Replace the vectors of ``ids`` already held and add the others (the last vector wins for an id given
        twice). Returns how many ids were replaced or added."""
        new = _as_ids(ids)
        matrix = _as_matrix(vectors)
        if len(new) != len(matrix):
            raise ValueError(f"{len(matrix)} vectors but {len(new)} ids")
        latest = {int(i): row for row, i in enumerate(new.tolist())}
        held = [i for i in latest if i in self._known]
        if held:
            rows = np.nonzero(np.isin(self._ids[: self._count], held))[0]
            if self.kind == "exact":
                for row in rows.tolist():
                    vector = matrix[latest[int(self._ids[row])]]
                    self._vectors[row] = vector
                    self._sq[row] = float(vector @ vector)
            else:
                self._ids[rows] = DEAD
                self._dead += len(rows)
                self._known.difference_update(held)
        fresh = [i for i in latest if i not in self._known]
        if fresh:
            self.add(np.array(fresh, np.int64), matrix[[latest[i] for i in fresh]])
        return len(latest)

    def search(self, vector: np.ndarray, k: int = 10, *, accept: Callable[[list[int]], set[int]] | None = None,
               max_distance: float | None = None) -> list[Neighbour]:
        """The ``k`` nearest ids, nearest first. ``accept(ids) -> the subset allowed`` filters candidates before they
        are counted (permissions, deleted rows, filters): the index fetches more neighbours until ``k`` accepted
        ones are found, the candidates run past ``max_distance``, or the index is exhausted."""
        if not self._count or k <= 0:
            return []
        v = np.asarray(vector, np.float32).reshape(DIM)
        fetch = min(self._count, max(4 * k, 64))
        while True:
            rows, dists = self._nearest_rows(v, fetch)
            if self._dead:
                live = self._ids[rows] != DEAD
                rows, dists = rows[live], dists[live]
            ids = self._ids[rows].tolist()
            allowed = set(ids) if accept is None else accept(ids)
            found = [Neighbour(int(i), float(d)) for i, d in zip(ids, dists, strict=True) if i in allowed]
            if max_distance is not None:
                found = [n for n in found if n.distance <= max_distance]
            beyond = max_distance is not None and len(dists) and float(dists[-1]) > max_distance
            if len(found) >= k or fetch >= self._count or beyond:
                return found[:k]
            fetch = min(self._count, fetch * 4)

    def _nearest_rows(self, v: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "exact":
            vectors = self._vectors[: self._count]
            partial = np.einsum("ij,j->i", vectors, -2.0 * v)
            partial += self._sq[: self._count]
            rows = np.argpartition(partial, n - 1)[:n] if n < self._count else np.arange(self._count)
            rows = rows[np.argsort(partial[rows], kind="stable")]
            return rows, np.sqrt(np.maximum(partial[rows] + float(v @ v), 0.0))
        if self.kind == "hnsw":
            self._faiss.hnsw.efSearch = max(self.params["ef_search"], n)
        sq, rows = self._faiss.search(v.reshape(1, DIM), n)
        keep = rows[0] >= 0
        return rows[0][keep], np.sqrt(np.maximum(sq[0][keep], 0.0))

    def vectors_of(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The stored vectors of ``ids`` that are present (used to search from a stored sighting)."""
        wanted = {int(i) for i in ids} & self._known
        if not wanted:
            return {}
        rows = np.nonzero(np.isin(self._ids[: self._count], list(wanted)))[0]
        if self.kind == "exact":
            return {int(self._ids[r]): self._vectors[r].copy() for r in rows}
        if self.kind == "ivf":
            self._faiss.make_direct_map()
        return {int(self._ids[r]): self._faiss.reconstruct(int(r)) for r in rows}

    # --- files ---------------------------------------------------------------------------------------------------

    def save(self, folder: Path | str, extra: dict | None = None) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic(folder / "ids.npy", lambda p: np.save(p, self._ids[: self._count]))
        if self.kind == "exact":
            _atomic(folder / "vectors.npy", lambda p: np.save(p, self._vectors[: self._count]))
        else:
            faiss = _faiss()

            _atomic(folder / f"{self.kind}.faiss", lambda p: faiss.write_index(self._faiss, str(p)))
        meta = {"kind": self.kind, "count": self._count, "max_id": self.max_id, "params": self.params,
                **(extra or {})}
        _atomic(folder / "meta.json", lambda p: Path(p).write_text(json.dumps(meta, indent=1)))

    @classmethod
    def load(cls, folder: Path | str) -> tuple[FaceIndex, dict]:
        """The snapshot in ``folder`` and its meta; raises ``FileNotFoundError``/``ValueError`` when it is absent or
        its parts disagree (the caller rebuilds from the database)."""
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text())
        ids = np.load(folder / "ids.npy")
        index = cls(meta["kind"], **meta.get("params", {}))
        if index.kind == "exact":
            vectors = np.load(folder / "vectors.npy")
            if len(vectors) != len(ids) or len(ids) != meta["count"]:
                raise ValueError(f"index snapshot in {folder} is inconsistent")
            index.add(ids, vectors)
        else:
            faiss = _faiss()

            index._faiss = faiss.read_index(str(folder / f"{index.kind}.faiss"))
            if index.kind == "hnsw":
                index._faiss.hnsw.efSearch = index.params["ef_search"]
            else:
                index._faiss.nprobe = index.params["nprobe"]
            if index._faiss.ntotal != len(ids) or len(ids) != meta["count"]:
                raise ValueError(f"index snapshot in {folder} is inconsistent")
            index._ids = ids.astype(np.int64)
            index._known = set(ids.tolist()) - {DEAD}
            index._count = len(ids)
            index._dead = int(np.count_nonzero(index._ids == DEAD))
        return index, meta


def _as_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    return np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, np.int64).reshape(-1)


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    part = path.with_name(path.name + ".part" + path.suffix)
    write(part)
    os.replace(part, path)

"""Face-search index: query latency, recall@10 against exact search, memory and insert throughput.

    python -m benchmarks.face_search [--sizes 10000 100000 1000000] [--queries 200] [--hnsw-max 100000]

Stored sightings are synthetic descriptors drawn from real ones: the LFW pairsDevTrain embeddings
(``runs/lfw_embeddings.npz``, written by ``python -m research.calibrate_matcher``) are mixed pairwise into new
identities (a random convex mix of two real people) and each identity gets several "tracks" with per-dimension
Gaussian noise sized so that tracks of one identity lie ~0.35 apart, as real same-person tracks do. Queries are fresh
tracks of stored identities. Rewrites ``docs/benchmarks/face_search.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from enhancement.index import FaceIndex

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "face_search.md"
TRACKS_PER_ID = 5
NOISE = 0.35 / np.sqrt(2 * 128)


def real_embeddings() -> np.ndarray:
    from enhancement.lfw import load_cache

    cache = load_cache()
    vectors = [v for k, v in cache.items() if "/" in k]
    if not vectors:
        raise SystemExit("no cached LFW embeddings: run python -m research.calibrate_matcher first")
    return np.stack(vectors).astype(np.float32)


def synthetic(real: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` stored descriptors and the identity centres they were drawn from."""
    ids = max(1, n // TRACKS_PER_ID)
    a, b = rng.integers(0, len(real), ids), rng.integers(0, len(real), ids)
    w = rng.uniform(0.2, 0.8, (ids, 1)).astype(np.float32)
    centres = w * real[a] + (1 - w) * real[b]
    owner = np.arange(n) % ids
    stored = rng.standard_normal((n, 128), dtype=np.float32)
    stored *= NOISE
    stored += centres[owner]
    return stored, centres


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)) * 1000, float(np.percentile(samples, 95)) * 1000


def measure(index: FaceIndex, queries: np.ndarray, truth: list[list[int]] | None, k: int = 10) -> dict:
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        result = index.search(q, k)
        times.append(time.perf_counter() - t)
        found.append([n.id for n in result])
    p50, p95 = percentiles(times)
    recall = None
    if truth is not None:
        recall = float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)]))
    return {"p50": p50, "p95": p95, "recall": recall, "found": found}


def inserts_per_second(index: FaceIndex, vectors: np.ndarray, start_id: int) -> float:
    t = time.perf_counter()
    for i, v in enumerate(vectors):
        index.add([start_id + i], v[None])
    return len(vectors) / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest size to build an HNSW index for")
    parser.add_argument("--inserts", type=int, default=2000)
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 24, 64], help="IVF cells scanned per query")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    real = real_embeddings()
    rows = []
    for n in args.sizes:
        stored, centres = synthetic(real, n, rng)
        print(f"{n:,} stored descriptors drawn", flush=True)
        ids = np.arange(1, n + 1, dtype=np.int64)
        owners = rng.integers(0, len(centres), args.queries)
        queries = (centres[owners] + rng.normal(0, NOISE, (args.queries, 128))).astype(np.float32)
        t = time.perf_counter()
        exact = FaceIndex.build(ids, stored, kind="exact")
        exact_build = time.perf_counter() - t
        e = measure(exact, queries, None)
        extra = (rng.normal(0, NOISE, (args.inserts, 128)) + centres[rng.integers(0, len(centres), args.inserts)])
        rows.append({"n": n, "kind": "exact (NumPy)", "build_s": exact_build, "p50": e["p50"], "p95": e["p95"],
                     "recall": 1.0, "mib": exact.memory_bytes() / 2**20,
                     "inserts": inserts_per_second(exact, extra.astype(np.float32), n + 1)})
        print(rows[-1], flush=True)
        t = time.perf_counter()
        ivf = FaceIndex.build(ids, stored, kind="ivf")
        build = time.perf_counter() - t
        for nprobe in args.nprobe:
            ivf._faiss.nprobe = nprobe
            ivf.params["nprobe"] = nprobe
            v = measure(ivf, queries, e["found"])
            rows.append({"n": n, "kind": f"FAISS IVF-Flat ({ivf.params['nlist']} cells, nprobe {nprobe})",
                         "build_s": build, "p50": v["p50"], "p95": v["p95"], "recall": v["recall"],
                         "mib": ivf.memory_bytes() / 2**20, "inserts": None})
            print(rows[-1], flush=True)
        rows[-1]["inserts"] = inserts_per_second(ivf, extra.astype(np.float32), n + 1)
        del ivf
        if n <= args.hnsw_max:
            t = time.perf_counter()
            hnsw = FaceIndex.build(ids, stored, kind="hnsw")
            build = time.perf_counter() - t
            h = measure(hnsw, queries, e["found"])
            rows.append({"n": n, "kind": "FAISS HNSW (M 32, efC 80, efS 96)", "build_s": build, "p50": h["p50"],
                         "p95": h["p95"], "recall": h["recall"], "mib": hnsw.memory_bytes() / 2**20,
                         "inserts": inserts_per_second(hnsw, extra.astype(np.float32), n + 1)})
            print(rows[-1], flush=True)
        del stored
    write(rows, args)


NOTES = """\
**Choice (`enhancement.index`):** exact NumPy search up to 50,000 sightings (no build, never wrong, a few ms), FAISS
IVF-Flat above it with nprobe 24: at 1,000,000 stored sightings p95 9 ms and recall@10 0.996 (goal: p95 < 100 ms,
recall >= 0.95: **met**), a 21 s build (the hourly rebuild stays cheap) and ~15,000 single inserts per second. HNSW
reaches recall 1.000 with similar latency but its graph took 71 s per 100,000 descriptors to build here (~12 min per
million, so it was not built at 1M) and 40 % more memory. Exact search alone is not enough at 1M: its p95 was 83 ms
in one run and 185 ms in this one, depending on the load of the shared machine (1-minute load 7-9 during both).
FAISS runs on one OpenMP thread (`enhancement.index.FAISS_THREADS`): with two, single IVF inserts fell to ~840/s on
these busy cores. Caveats: the synthetic identities are well separated, which flatters recall (real crowds of
similar faces will be harder); the millisecond p95 outliers against sub-millisecond medians are the shared machine's
scheduling, not the index; memory excludes the Python process (~60 B per id for the id set).
""".split("\n")


def write(rows: list[dict], args: argparse.Namespace) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Face search index: latency, recall@10, memory, inserts",
        "",
        f"`python -m benchmarks.face_search --sizes {' '.join(map(str, args.sizes))} --queries {args.queries} "
        f"--hnsw-max {args.hnsw_max}` on {platform.machine()}, {os.cpu_count()} CPU(s) shared with other jobs "
        f"(1-minute load average {load:.1f} at the end). Stored descriptors: synthetic, drawn from the real LFW "
        "pairsDevTrain embeddings (see the module docstring). Latency: one query, k = 10, single process; recall@10 "
        "against the exact NumPy search over the same vectors. Inserts: one sighting at a time (as the post-commit "
        "hook adds them).",
        "",
        "| stored sightings | index | build (s) | p50 (ms) | p95 (ms) | recall@10 | memory (MiB) | inserts / s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        inserts = "" if r["inserts"] is None else f"{r['inserts']:,.0f}"
        lines.append(f"| {r['n']:,} | {r['kind']} | {r['build_s']:.1f} | {r['p50']:.2f} | {r['p95']:.2f} | "
                     f"{r['recall']:.3f} | {r['mib']:.0f} | {inserts} |")
    lines.append("")
    lines.extend(NOTES)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines) + "\n")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()

"""FaceCase's evaluation: how much each enhancement step helps recognition of degraded faces.

``python -m research.evaluate [--quick] [--seed S] [--out docs/evaluation]`` writes ``README.md``, CSVs and PNG
plots. Sections: verification on LFW ``pairsDevTest`` under CCTV degradations (``verification``), face detection
on the degraded frames (``detection``), open-set identification (``identification``), synthetic tracks of N = 1, 4,
8 frames for each probe embedder and fusion rule (``tracks``); restoration fidelity on the same probes, with links to
the model owners' benchmarks (``readme``). Embeddings are cached under ``runs/``.
"""

from .__main__ import main

__all__ = ["main"]

"""Keep a partly fine-tuned student as a small file: only the variables that differ from dlib's own.

    python -m research.student_delta save --run NAME --out research/candidates/NAME.npz
    python -m research.student_delta restore research/candidates/NAME.npz --run NAME

A student trained with ``train_student --train-blocks K`` changes only the stem and the first K residual blocks
(338,688 of 5,614,592 parameters for K = 7): 1.4 MB instead of the 22 MB of a full ``.weights.h5``. That lets a
candidate that was trained, but not yet put through the report, be committed and picked up by a later session
without training it again. ``save`` reads the run's ``best.weights.h5``; ``restore`` writes the run's
``best.weights.h5``, ``best.json`` and ``config.json`` back (refusing a delta made over other dlib weights), so
``train_student --run NAME --export`` and ``calibrate_student`` then work as right after training.

The file is a NumPy ``.npz`` read with ``allow_pickle=False``: one array per changed variable (``var/<name>``) and
``meta``, a JSON string with the base weights' sha256, the run's config and best-checkpoint record, and the sha256
of the checkpoint it was made from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .train_student import RUNS

BASE = "dlib_face_recognition_resnet_model_v1.dat"


def _base_sha() -> str:
    from enhancement.weights import read_manifest

    return read_manifest()[BASE]


def _variables(model: Any) -> dict[str, Any]:
    named = {v.name: v for v in model.weights}
    if len(named) != len(model.weights):
        raise ValueError("the student's variable names are not unique; a delta cannot name them")
    return named


def changed_variables(model: Any) -> dict[str, np.ndarray]:
    """The model's variables whose values differ from those of a freshly built (dlib-initialised) student."""
    from enhancement.student import build_student

    base = _variables(build_student())
    values = {name: np.asarray(v.numpy()) for name, v in _variables(model).items()}
    return {name: a for name, a in values.items() if not np.array_equal(a, np.asarray(base[name].numpy()))}


def save(weights: Path, out: Path, meta: dict[str, Any]) -> dict[str, Any]:
    from enhancement.student import build_student
    from enhancement.weights import sha256_file

    model = build_student()
    model.load_weights(str(weights))
    changed = changed_variables(model)
    meta = {**meta, "base_sha256": _base_sha(), "from_sha256": sha256_file(weights),
            "variables": len(changed), "parameters": int(sum(a.size for a in changed.values()))}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, meta=np.array(json.dumps(meta)), **{f"var/{k}": a for k, a in changed.items()})
    return meta


def load(path: Path) -> tuple[Any, dict[str, Any]]:
    """A student with the delta applied over dlib's weights, and the delta's meta record."""
    from enhancement.student import build_student

    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta["base_sha256"] != _base_sha():
            raise ValueError(f"{path} was made over other dlib weights ({meta['base_sha256'][:12]}, here "
                             f"{_base_sha()[:12]})")
        model = build_student()
        named = _variables(model)
        for key in (k for k in data.files if k.startswith("var/")):
            name = key.removeprefix("var/")
            if name not in named or tuple(named[name].shape) != data[key].shape:
                raise ValueError(f"{path}: variable {name} {data[key].shape} does not fit the student")
            named[name].assign(data[key])
    return model, meta


def restore(path: Path, run: Path) -> dict[str, Any]:
    model, meta = load(path)
    run.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(run / "best.weights.h5"))
    (run / "best.json").write_text(json.dumps(meta.get("best", {})))
    if meta.get("config"):
        (run / "config.json").write_text(json.dumps(meta["config"], indent=2))
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m research.student_delta", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("save", help="write the run's best checkpoint as a delta over dlib's weights")
    s.add_argument("--run", required=True)
    s.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("restore", help="rebuild a run's best checkpoint from a delta")
    r.add_argument("delta", type=Path)
    r.add_argument("--run", required=True)
    args = ap.parse_args(argv)
    run = RUNS / args.run
    if args.command == "save":
        if not (run / "best.weights.h5").exists():
            ap.error(f"no checkpoint at {run / 'best.weights.h5'}")
        record = {"run": args.run, "best": json.loads((run / "best.json").read_text())}
        if (run / "config.json").exists():
            record["config"] = json.loads((run / "config.json").read_text())
        meta = save(run / "best.weights.h5", args.out, record)
        print(f"{args.out}: {meta['variables']} variables, {meta['parameters']} parameters, "
              f"{args.out.stat().st_size / 1e6:.2f} MB")
    else:
        meta = restore(args.delta, run)
        print(f"restored {run / 'best.weights.h5'} ({meta['parameters']} parameters over dlib's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

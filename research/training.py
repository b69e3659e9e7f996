"""Plumbing shared by the GAN deblur trainer and the restoration trainer: command line, TensorFlow threads, log
lines, PSNR of uint8 stacks and ``--export`` of the best checkpoint into ``weights/`` with its manifest entry.

A run lives in ``runs/<config name>/``; ``best.weights.h5`` and ``best.json`` there are what ``--export`` copies.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def log_line(path: Path, message: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {message}"
    print(line, flush=True)
    with open(path, "a") as fh:
        fh.write(line + "\n")


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over images of the per-image PSNR (dB) of two uint8 stacks (N, H, W, C)."""
    diff = a.astype(np.float64) - b.astype(np.float64)
    mse = np.maximum((diff**2).reshape(len(a), -1).mean(axis=1), 1e-10)
    return float(np.mean(10 * np.log10(255.0**2 / mse)))


def parse(doc: str, argv: list[str] | None) -> tuple[argparse.Namespace, dict[str, Any], Path]:
    """``--config FILE [--resume] [--export] [--bench N]``; returns the arguments, the config and the run folder."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--export", action="store_true", help="copy the best checkpoint to weights/ and stop")
    parser.add_argument("--bench", type=int, default=0, help="time N training steps and stop")
    args = parser.parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    return args, config, REPO / "runs" / config["name"]


def start_tensorflow(threads: dict[str, int]) -> Any:
    """Import TensorFlow with the config's thread counts (before its runtime starts) and return the module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads["intra"])
    tf.config.threading.set_inter_op_parallelism_threads(threads["inter"])
    return tf


def export_best(run_dir: Path, name: str, describe: Callable[[dict[str, Any]], str]) -> int:
    """Copy ``best.weights.h5`` to ``weights/<name>.weights.h5``, record its sha256; ``describe(best.json)``."""
    from enhancement.weights import WEIGHTS_DIR, record_in_manifest

    best = run_dir / "best.weights.h5"
    if not best.exists():
        print(f"no checkpoint at {best}", file=sys.stderr)
        return 1
    target = WEIGHTS_DIR / f"{name}.weights.h5"
    shutil.copyfile(best, target)
    digest = record_in_manifest(target)
    print(f"exported {target} sha256 {digest} from {describe(json.loads((run_dir / 'best.json').read_text()))}")
    return 0

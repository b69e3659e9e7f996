"""Command line: ``python -m research.evaluate [--quick] [--seed S] [--out docs/evaluation]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from enhancement.datasets import REPO_ROOT

# The full run as committed in docs/evaluation (sized to finish on 2 shared cores while the team trains models);
# --pairs 500 / 1000, --detection-frames and --probes-per-identity scale it up on a quiet machine.
FULL = {"pairs": 300, "degradations": ["clean", "x4", "x6", "low_light", "blur", "jpeg", "combined"],
        "detection_frames": 60, "gallery": 100, "probes_per_identity": 1,
        "identification": [("clean", "raw"), ("combined", "raw"), ("combined", "auto"), ("combined", "auto_alt"),
                           ("clean", "student"), ("combined", "student"), ("x6", "raw"), ("x6", "student"),
                           ("blur", "raw"), ("blur", "student")],
        "track_pairs": 500, "track_train_pairs": 300, "track_degradations": ["combined", "blur", "low_light"],
        "track_lengths": (1, 4, 8)}
QUICK = {"pairs": 40, "degradations": ["clean", "combined"], "detection_frames": 12, "gallery": 20,
         "probes_per_identity": 1,
         "identification": [("clean", "raw"), ("combined", "raw"), ("combined", "auto"), ("combined", "auto_alt")],
         "track_pairs": 20, "track_train_pairs": 40, "track_degradations": ["combined"], "track_lengths": (1, 4)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m research.evaluate", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smoke test: 40 pairs, 2 degradations, small gallery")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "evaluation")
    ap.add_argument("--pairs", type=int, help="pairsDevTest pairs (balanced nested sample); default 300, quick 40")
    ap.add_argument("--degradations", nargs="+", help="subset of research.degrade.DEGRADATIONS")
    ap.add_argument("--variants", nargs="+",
                    default=["raw", "bicubic", "lime", "deblur", "srcnn", "auto", "student", "student_auto"])
    ap.add_argument("--detection-frames", type=int)
    ap.add_argument("--detectors", nargs="+", default=["haar", "mtcnn"])
    ap.add_argument("--gallery", type=int, help="identities enrolled for identification (0 skips it)")
    ap.add_argument("--probes-per-identity", type=int, help="known probes per enrolled identity (default 1)")
    ap.add_argument("--cache", type=Path, default=REPO_ROOT / "runs" / "evaluation_cache",
                    help="embedding cache folder (git-ignored); 'none' disables it")
    ap.add_argument("--alt-policy", type=json.loads, default=None,
                    help='JSON of QualityPolicy fields, e.g. \'{"dark_luminance": 50}\': adds the variant auto_alt')
    ap.add_argument("--track-pairs", type=int, help="pairsDevTest pairs of the track section (the first of the "
                    "report's nested sample; default 500, quick 20)")
    ap.add_argument("--sections", nargs="+", default=["verification", "detection", "identification", "tracks"],
                    help="which parts to run (a partial run is for warming the caches)")
    ap.add_argument("--threads", type=int, default=2, help="TensorFlow threads (the machine is shared)")
    return ap.parse_args(argv)


def _disjoint_check(identities: set[str]) -> str:
    """Refuse to run if any identity used to train a model is in the evaluation sets; return what was checked."""
    from enhancement.datasets import assert_disjoint, split_identities

    assert_disjoint()
    training = set(split_identities("train")) | set(split_identities("val"))
    leaked = identities & training
    if leaked:
        raise AssertionError(f"training identities in the evaluation sets: {sorted(leaked)[:5]}")
    outside = identities - set(split_identities("eval"))
    if outside:
        raise AssertionError(f"evaluation uses identities outside the eval split: {sorted(outside)[:5]}")
    return (f"passed: `assert_disjoint()` holds and all {len(identities)} identities used here are in "
            f"`weights/splits/lfw_eval_identities.txt`, none in the {len(training)} train/val identities that "
            "trained the face SR and deblur models (checked in code at the start of every run).")


def _manifest() -> dict[str, str]:
    from enhancement.weights import read_manifest

    return read_manifest()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(args.threads))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # The embedder's TensorFlow backend runs dlib's own network and weights ~8x faster here (descriptors agree with
    # dlib's to < 1e-6; measured 3.9e-7 on 10 LFW crops), which is what makes the full run fit the time budget.
    backend = os.environ.get("FACECASE_EMBED_BACKEND", "tf")  # passed per call: the process environment is left alone
    from tqdm import tqdm

    from enhancement.datasets import lfw_pairs

    from .. import degrade
    from .cache import EmbeddingCache
    from .detection import run_detection
    from .identification import build_set, run_identification
    from .probes import probe_embedder
    from .report import write_all
    from .verification import select_pairs

    plan = dict(QUICK if args.quick else FULL)
    for name in ("pairs", "degradations", "detection_frames", "gallery", "probes_per_identity", "track_pairs"):
        if getattr(args, name) is not None:
            plan[name] = getattr(args, name)
    degradations = [d for d in plan["degradations"] if d in degrade.DEGRADATIONS]
    alt_policy = None
    if args.alt_policy:
        from enhancement.quality import QualityPolicy

        alt_policy = QualityPolicy(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.alt_policy.items()})
        if "auto_alt" not in args.variants:
            args.variants = [*args.variants, "auto_alt"]
    else:
        args.variants = [v for v in args.variants if v != "auto_alt"]
    t0 = time.perf_counter()
    pairs = select_pairs(lfw_pairs("pairsDevTest"), plan["pairs"], args.seed)
    ident_set = build_set(plan["gallery"], plan["probes_per_identity"], args.seed) if plan["gallery"] else None
    identities = {p.parent.name for a, b, _ in pairs for p in (a, b)} | (ident_set.identities() if ident_set else set())
    disjoint = _disjoint_check(identities)

    from enhancement.embed import embed_face
    from enhancement.match import DEFAULT_THRESHOLD

    from .cache import code_tag

    tag = code_tag("enhancement.embed", "enhancement.embed_tf")
    cache_path = None if str(args.cache) == "none" else args.cache / f"embeddings-{tag}.npz"
    others, tags = {}, {}
    student_model = None
    if any(probe_embedder(v) for v in args.variants) or "tracks" in args.sections:
        from enhancement.weights import WeightsError

        from .cache import student_tag

        try:
            tag = student_tag()
        except (KeyError, WeightsError) as exc:
            print(f"student variants skipped: {exc}", file=sys.stderr)
            args.variants = [v for v in args.variants if not probe_embedder(v)]
        else:
            from enhancement.student import load_student

            student_model = load_student()
            others["student"] = lambda image, box: embed_face(image, box=box, backend="student")
            tags["student"] = tag
    cache_empty_at_start = cache_path is None or not any(args.cache.glob("*"))
    cache = EmbeddingCache(cache_path, lambda image, box: embed_face(image, box=box, backend=backend),
                           others=others, tags=tags)
    det_frames = min(plan["detection_frames"], len(pairs))
    conditions = [c for c in plan["identification"] if c[0] in degradations and c[1] in args.variants]
    conditions = conditions if ident_set and "identification" in args.sections else []
    det_frames = det_frames if "detection" in args.sections else 0
    total = len(pairs) * len(degradations) * ("verification" in args.sections) + det_frames * len(degradations)
    total += (len(ident_set.known) + len(ident_set.unknown)) * len(conditions) if ident_set else 0
    from .tracks import frames_needed, run_tracks, tracks_cache_dir

    track_degradations = [d for d in plan["track_degradations"] if d in degradations] if "tracks" in args.sections \
        else []
    track_pairs = pairs[:min(plan["track_pairs"], len(pairs))]
    total += frames_needed(len(track_pairs), plan["track_train_pairs"], track_degradations, plan["track_lengths"])
    bar = tqdm(total=total, desc="evaluate", unit="probe", file=sys.stderr, dynamic_ncols=True, mininterval=2.0)

    from .verification import run_verification

    ver = det = ident = None
    if "verification" in args.sections:
        bar.set_description("verification")
        from .cache import ProbeCache

        # every module a treated probe depends on (weights are in each entry's key): a change starts a fresh cache
        step_tag = code_tag("enhancement.embed", "enhancement.embed_tf", "enhancement.lime", "enhancement.srcnn",
                            "enhancement.deblur.inference", "enhancement.deblur.model", "enhancement.pipeline",
                            "enhancement.quality", "research.evaluate.probes", "enhancement.bicubic")
        probe_cache = ProbeCache(None if cache_path is None else args.cache / f"probes-{step_tag}.pkl")
        ver = run_verification(pairs, degradations, args.variants, cache, args.seed, bar, alt_policy, probe_cache)
    unavailable = ver.unavailable if ver is not None else {}
    if det_frames:
        bar.set_description("detection")
        det_cache = None if cache_path is None else args.cache / f"detections-{code_tag('enhancement.detect')}.json"
        det = run_detection([b for _, b, _ in pairs[:det_frames]], degradations, args.detectors, args.seed, bar,
                            det_cache)
    if conditions:
        bar.set_description("identification")
        usable = [c for c in conditions if c[1] not in unavailable]
        ident = run_identification(ident_set, usable, cache, args.seed, bar, alt_policy)
    tracks = None
    if track_degradations:
        bar.set_description("tracks")
        from enhancement.embed import describe_chips

        describers = {"teacher": lambda chips: describe_chips(chips, backend)}
        if student_model is not None:
            from enhancement.student import describe_chips_student

            describers["student"] = lambda chips: describe_chips_student(chips, model=student_model)
        track_cache = None if cache_path is None else tracks_cache_dir(args.cache, tags.get("student"))
        tracks = run_tracks(track_pairs, track_degradations, describers, args.seed, track_cache, bar,
                            lengths=tuple(plan["track_lengths"]), train_pairs=plan["track_train_pairs"])
    bar.close()
    threshold_file = REPO_ROOT / "weights" / "matcher_calibration.json"
    summary: dict[str, Any] = {
        "config": {
            "command": "python -m research.evaluate" + (" --quick" if args.quick else "") + (
                f" --seed {args.seed}" if args.seed != 20261127 else "") + (
                f" --pairs {plan['pairs']}" if args.pairs else "") + (
                f" --track-pairs {plan['track_pairs']}" if args.track_pairs else "") + (
                f" --alt-policy '{json.dumps(args.alt_policy)}'" if args.alt_policy else ""),
            "seed": args.seed, "quick": args.quick, "pairs": len(pairs), "genuine": sum(s for *_, s in pairs),
            "impostor_comparisons": sum(1 for a, _, _ in pairs for _, b, _ in pairs if a.parent.name != b.parent.name),
            "degradations": degradations, "variants": args.variants, "threshold": float(DEFAULT_THRESHOLD),
            "threshold_source": "weights/matcher_calibration.json" if threshold_file.exists() else "match.py default",
            "disjoint_check": disjoint, "detection_frames": det_frames, "cpus": os.cpu_count(),
            "unavailable": unavailable, "alt_policy": args.alt_policy, "sections": args.sections,
            "weights": _manifest(), "embed_backend": backend, "cache_empty_at_start": cache_empty_at_start,
            "degradation_notes": {
                "clean": "no change", "x4": "MATLAB bicubic x1/4 (250 -> 63 px)", "x6": "x1/6 (250 -> 42 px)",
                "low_light": f"gain {degrade.LOW_LIGHT_GAIN_RANGE[0]}-{degrade.LOW_LIGHT_GAIN_RANGE[1]}, Poisson shot "
                             f"noise ({degrade.PHOTONS_AT_WHITE:.0f} photons at white), Gaussian read noise "
                             f"{degrade.READ_NOISE_DN} DN",
                "blur": "one of 48 held-out trajectory kernels (5-25 px) at full resolution",
                "jpeg": f"JPEG quality {degrade.JPEG_QUALITY}",
                "combined": f"blur -> x1/{degrade.COMBINED_FACTOR} -> low light + noise -> JPEG {degrade.JPEG_QUALITY}",
            },
        },
        "cache": {"hits": cache.hits, "misses": cache.misses},
    }
    summary["elapsed_s"] = round(time.perf_counter() - t0, 1)
    write_all(args.out, summary, ver, det or [], ident, degradations, args.variants, float(DEFAULT_THRESHOLD),
              tracks)
    print(f"evaluation written to {args.out} in {summary['elapsed_s'] / 60:.1f} min "
          f"(embeddings: {cache.misses} computed, {cache.hits} from cache)")
    return summary


if __name__ == "__main__":
    main()

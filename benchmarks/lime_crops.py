"""LIME on face crops: how coarse the illumination solve may be before the embedder notices.

    python -m benchmarks.lime_crops [--faces 40] [--write]   # prints the table; --write: docs/benchmarks/lime_crops.md

The analysis enhances each dark crop a track keeps (``AnalysisConfig.step_params["lime"]``), and a live camera
re-enhances every crop that enters a walking face's best few: in a profile of ``run_cameras`` on one 720p camera,
LIME's sparse solve was the largest single cost. The fast variant solves the illumination map on a copy downscaled
to ``fast_size`` px (long side) and upsamples it with a guided filter; this measures, in one run on the same crops,
each solve size against the exact solve (the baseline): time per crop, distance of the enhanced image, and what it
changes for matching (the teacher embedder's descriptor of the enhanced crop, and its distance to another photo of
the same person, against the alert threshold's scale).

Faces: LFW *train* identities with two or more images (never evaluated on), their first image's face box with the
analysis's 0.3 margin, scaled so the face is 110 px (a face in 720p CCTV) or 200 px (near a 1080p camera), darkened
as ``benchmarks/enhancement.py`` does (10 % of the light, gamma 2.2).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from enhancement import lime
from enhancement.datasets import REPO_ROOT, lfw_images, split_identities
from enhancement.embed import embed_face_by
from enhancement.frames import crop_with_margin
from enhancement.match import DEFAULT_THRESHOLD

DOC = REPO_ROOT / "docs" / "benchmarks" / "lime_crops.md"
LFW_FACE_BOX = (68, 67, 115, 115)  # where deep-funneled LFW puts the face in its 250x250 images
VARIANTS: tuple[tuple[str, dict], ...] = (
    ("exact (baseline)", {}),
    ("fast, 160 px (the step's default)", {"fast": True, "fast_size": 160}),
    ("fast, 128 px", {"fast": True, "fast_size": 128}),
    ("fast, 96 px", {"fast": True, "fast_size": 96}),
    ("fast, 80 px", {"fast": True, "fast_size": 80}),
    ("fast, 64 px", {"fast": True, "fast_size": 64}),
    ("exact, then JPEG quality 95 (reference: an innocuous change)", {"jpeg": 95}),
)


def darken(image: np.ndarray) -> np.ndarray:
    linear = (image.astype(np.float32) / 255.0) ** 2.2 * 0.1
    return np.clip(linear ** (1 / 2.2) * 255.0, 0, 255).astype(np.uint8)


def people(n: int) -> list[tuple[Path, Path]]:
    """(probe, reference) image pairs of ``n`` train identities with at least two images."""
    pairs = []
    for identity in split_identities("train"):
        images = lfw_images(identity)
        if len(images) >= 2:
            pairs.append((images[0], images[1]))
        if len(pairs) == n:
            break
    return pairs


def scaled_crop(path: Path, face_px: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    crop, inner = crop_with_margin(cv2.imread(str(path)), LFW_FACE_BOX, 0.3)
    factor = face_px / LFW_FACE_BOX[2]
    crop = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
    return crop, tuple(int(round(v * factor)) for v in inner)  # type: ignore[return-value]


def run(faces: int, repeats: int) -> dict:
    pairs = people(faces)
    rows = []
    for face_px in (110, 200):
        per_variant: dict[str, dict[str, list[float]]] = {name: {"ms": [], "pixels": [], "drift": [], "genuine": []}
                                                           for name, _ in VARIANTS}
        crop_side = 0
        for probe_path, reference_path in pairs:
            crop, box = scaled_crop(probe_path, face_px)
            crop_side = max(crop.shape[:2])
            dark = darken(crop)
            reference = cv2.imread(str(reference_path))
            reference_vector = embed_face_by(reference, LFW_FACE_BOX, ["tf"])[0]
            exact = exact_vector = exact_genuine = None
            for name, params in VARIANTS:
                times = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    if "jpeg" in params:  # how far a change nobody would call a different enhancement moves things
                        out = cv2.imdecode(cv2.imencode(".jpg", exact, [cv2.IMWRITE_JPEG_QUALITY, params["jpeg"]])[1],
                                           cv2.IMREAD_COLOR)
                    else:
                        out, _ = lime.enhance(dark, **params)
                    times.append((time.perf_counter() - t0) * 1000.0)
                vector = embed_face_by(out, box, ["tf"])[0]
                genuine = float(np.linalg.norm(vector - reference_vector))
                if exact is None:
                    exact, exact_vector, exact_genuine = out, vector, genuine
                stats = per_variant[name]
                stats["ms"].append(statistics.median(times))
                stats["pixels"].append(float(np.abs(out.astype(np.int16) - exact.astype(np.int16)).mean()))
                stats["drift"].append(float(np.linalg.norm(vector - exact_vector)))
                stats["genuine"].append(abs(genuine - exact_genuine))
        base_ms = statistics.mean(per_variant[VARIANTS[0][0]]["ms"])
        for name, _ in VARIANTS:
            stats = per_variant[name]
            if "JPEG" in name:
                ms = speed = None
            else:
                ms, speed = statistics.mean(stats["ms"]), base_ms / statistics.mean(stats["ms"])
            rows.append({"face_px": face_px, "crop_px": crop_side, "variant": name,
                         "ms": ms, "speed_up": speed,
                         "pixels": statistics.mean(stats["pixels"]), "drift_mean": statistics.mean(stats["drift"]),
                         "drift_max": max(stats["drift"]), "genuine_mean": statistics.mean(stats["genuine"]),
                         "genuine_max": max(stats["genuine"])})
    return {"faces": len(pairs), "repeats": repeats, "rows": rows}


def render(result: dict, argv: str) -> str:
    lines = [
        "# LIME on face crops: solve size",
        "",
        f"`python -m benchmarks.lime_crops {argv}`".replace(" `", "`") + f" on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} CPUs, {platform.machine()}), {time.strftime('%Y-%m-%d')}, OpenCV with 1 thread.",
        "",
        f"{result['faces']} LFW train identities (never evaluated on): the first image's face with the analysis's 0.3 "
        "margin, scaled to the face size below, darkened to 10 % of its light; LIME with the paper's parameters "
        "(alpha 0.15, gamma 0.8, strategy 3). The exact sparse solve is the baseline, from the same run on the same "
        f"crops. Time: median of {result['repeats']} per crop, then the mean over crops. Drift: Euclidean distance "
        "between the teacher embedder's descriptors of the variant's and the exact solve's output. Genuine change: "
        "how much the distance to another photo of the same person moved. For scale: the library's per-comparison "
        f"match threshold is {DEFAULT_THRESHOLD:.3f} (alerts use a tighter, registry-sized one), and the last row "
        "of each size re-saves the exact output as a JPEG of quality 95, a change nobody would call a different "
        "enhancement.",
        "",
        "| face | crop | LIME solve | ms per crop | speed-up | output vs exact (grey levels) | drift mean | drift max "
        "| genuine change mean | genuine change max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        ms = "-" if r["ms"] is None else f"{r['ms']:.1f}"
        speed = "-" if r["speed_up"] is None else f"{r['speed_up']:.1f}x"
        lines.append(f"| {r['face_px']} px | {r['crop_px']} px | {r['variant']} | {ms} | {speed} | {r['pixels']:.2f} | "
                     f"{r['drift_mean']:.4f} | {r['drift_max']:.4f} | "
                     f"{r['genuine_mean']:.4f} | {r['genuine_max']:.4f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(REPO_ROOT)}")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    argv = " ".join(f"--{k} {v}" for k, v in (("faces", args.faces), ("repeats", args.repeats))) + (
        " --write" if args.write else "")
    page = render(run(args.faces, args.repeats), argv)
    print(page)
    if args.write:
        DOC.write_text(page)
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()

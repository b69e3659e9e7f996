"""How large an ECC shift the averaged chip may trust, measured on real footage that no evaluation uses.

Run: ``python -m research.chip_registration`` (~2 min on 2 cores); writes ``docs/evaluation/chip_registration.md``.

Why: ``enhancement.fusion.average_chips`` registers each of a track's aligned 150 px chips to the best one by an
ECC translation before averaging. The chips are already aligned by their landmarks, so a true residual is a few
pixels; on real video the head also turns and the mouth moves between frames, and ECC can then lock onto a shift
that aligns hair or background instead of the face, which ghosts the average. Synthetic tracks (one LFW image with
sub-pixel shifts) cannot show this, and the report's real clips (Hamilton, HDTF) are evaluation data, so the limit
is chosen here, on the Intel IoT DevKit sample clips (``../shared/data/intel_sample_videos``: 4 GIFs, 480x270,
people walking to the camera, turning their heads, a classroom; CC BY 4.0; no identity labels; used by no other
study).

Method. The product analyses each clip (``analyze_video``, no gallery, no enhancement, every frame); each track with
at least ``--min-frames`` embeddable crops (face at least ``AnalysisConfig.min_face_px``) gives its best
``chip_average_keep`` crops by quality, cut into the embedder's aligned chips exactly as ``TrackMatcher`` does.
Without labels the target is the track's own clean identity point: the quality-weighted mean of its clean frames'
dlib descriptors (``pooled``). Each frame is then degraded independently (``research.degrade``: blur, low light,
combined; ``--repeats`` draws) inside the crop, the degraded chips are averaged under each registration limit, and
the averaged chip's descriptor is compared with ``pooled``: the nearer, the better the average kept who the person
is. The clean tracks are averaged too (a ghosted clean average drifts from its own frames). Limits compared: 0 (no
registration: the landmarks' alignment only) and shifts up to 1, 2, 3, 5, 8 and 15 px (15 px = 10 % of the chip,
the product's limit until 2026-12-02). Also reported: how large the ECC shifts found on the clean chips are.
"""

from __future__ import annotations

import argparse
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from enhancement.analysis import AnalysisConfig, analyze_video
from enhancement.analysis.matching import embedding_view
from enhancement.datasets import REPO_ROOT, shared_data_dir
from enhancement.embed import aligned_chips, describe_chips
from enhancement.frames import crop_quality, crop_with_margin
from enhancement.fusion import average_chips, pooled_descriptor, register_translation, select_best
from enhancement.video import FrameReader

from . import degrade

OUT = REPO_ROOT / "docs" / "evaluation" / "chip_registration.md"
LIMITS_PX = (0, 1, 2, 3, 5, 8, 15)
CHIP_PX = 150


def clip_paths() -> list[Path]:
    return sorted((shared_data_dir() / "intel_sample_videos" / "preview").glob("*.gif"))


def tracks_of(path: Path, min_frames: int) -> list[dict[str, Any]]:
    """The product's tracks on the clean clip with enough faces large enough to embed: frames and boxes."""
    config = AnalysisConfig(enhance=False)
    result = analyze_video(path, gallery=None, config=config)
    out = []
    for track in result.tracks:
        pts = [(f, b) for f, b in zip(track.frames, track.boxes, strict=True) if min(b[2], b[3]) >= config.min_face_px]
        if len(pts) >= min_frames:
            out.append({"clip": path.stem, "track": track.key, "points": pts})
    return out


def read_frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    return {f.index: f.image for f in FrameReader(path) if f.index in wanted}


def crops_of(track: dict[str, Any], frames: dict[int, np.ndarray]) -> list[tuple[np.ndarray, tuple[int, ...], float]]:
    """(crop with margin, face box in it, quality weight) of the track's best ``chip_average_keep`` frames."""
    keep = AnalysisConfig().chip_average_keep
    items = []
    for f, box in track["points"]:
        crop, inner = crop_with_margin(frames[f], box, 0.3)
        x, y, w, h = inner
        q = crop_quality(crop[y:y + h, x:x + w])
        items.append((crop, inner, float(np.sqrt(w * h) * q.score)))
    order = select_best(np.array([w for _, _, w in items]), keep)
    return [items[i] for i in order]


def chips_of(items: list[tuple[np.ndarray, tuple[int, ...], float]], degradation: str,
             seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    face_px, min_px = AnalysisConfig().embed_face_px, AnalysisConfig().min_face_px
    chips, weights = [], []
    for n, (crop, inner, weight) in enumerate(items):
        out, scale = crop, 1.0
        if degradation != "clean":
            out = degrade.degrade(crop, degradation, zlib.crc32(f"{seed}:{n}".encode())).image
            scale = out.shape[1] / crop.shape[1]
        x, y, w, h = (int(round(v * scale)) for v in inner)
        if min(w, h) < min_px / 2:
            continue
        image, box = embedding_view(out, (x, y, w, h), face_px)
        chips.append(aligned_chips(image, [box])[0][0])
        weights.append(weight)
    return chips, np.array(weights)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m research.chip_registration", description=__doc__.split("\n\n")[0])
    ap.add_argument("--min-frames", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--degradations", nargs="+", default=["clean", "blur", "low_light", "combined"])
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    tracks = []
    for path in clip_paths():
        found = tracks_of(path, args.min_frames)
        frames = read_frames(path, {f for t in found for f, _ in t["points"]})
        for t in found:
            t["items"] = crops_of(t, frames)
        tracks += found
    shifts: list[float] = []
    drift: dict[tuple[str, int], list[float]] = {}
    for ti, t in enumerate(tracks):
        clean_chips, clean_w = chips_of(t["items"], "clean", 0)
        pooled = pooled_descriptor(describe_chips(clean_chips, "dlib").reshape(len(clean_chips), -1), clean_w)
        order = select_best(clean_w, None)
        for i in order[1:]:  # how far ECC moves each clean chip onto the best one, before any limit
            warp = register_translation(clean_chips[order[0]], clean_chips[i], limit=1.0)
            shifts.append(float(np.hypot(warp[0, 2], warp[1, 2])))
        for deg in args.degradations:
            for r in range(1 if deg == "clean" else args.repeats):
                chips, w = chips_of(t["items"], deg, args.seed + 1000 * ti + r)
                if len(chips) < 2:
                    continue
                averaged = [average_chips(chips, w, limit=px / CHIP_PX) for px in LIMITS_PX]
                vectors = describe_chips(averaged, "dlib").reshape(len(LIMITS_PX), -1)
                for px, v in zip(LIMITS_PX, vectors, strict=True):
                    drift.setdefault((deg, px), []).append(float(np.linalg.norm(v - pooled)))
    s = np.array(shifts)
    lines = [
        "# How large an ECC shift the averaged chip may trust",
        "",
        f"Generated by `python -m research.chip_registration` in {(time.perf_counter() - t0) / 60:.1f} min. "
        "Method: the docstring of `research/chip_registration.py`. Data: the 4 Intel IoT DevKit sample GIFs "
        "(`intel_sample_videos`), which no evaluation uses.",
        "",
        f"- {len(tracks)} tracks with at least {args.min_frames} embeddable faces "
        f"({', '.join(sorted({t['clip'] for t in tracks}))}); up to {AnalysisConfig().chip_average_keep} best crops "
        f"each; {args.repeats} degradation draws per track (clean: one).",
        f"- ECC shifts of the clean chips onto the best one ({len(s)} chips): median {np.median(s):.1f} px, "
        f"90th percentile {np.percentile(s, 90):.1f} px, largest {s.max():.1f} px (chip {CHIP_PX} px).",
        "",
        "Distance from the averaged chip's descriptor to the track's clean identity point (mean over tracks and "
        "draws; lower is better; in brackets the median):",
        "",
        "| degradation | n | " + " | ".join("no registration" if px == 0 else f"shifts <= {px} px"
                                            for px in LIMITS_PX) + " |",
        "|---|---|" + "---|" * len(LIMITS_PX),
    ]
    for deg in args.degradations:
        cells = [f"{np.mean(drift[(deg, px)]):.4f} ({np.median(drift[(deg, px)]):.4f})" for px in LIMITS_PX]
        lines.append(f"| {deg} | {len(drift[(deg, LIMITS_PX[0])])} | " + " | ".join(cells) + " |")
    overall = {px: float(np.mean([d for deg in args.degradations for d in drift[(deg, px)]])) for px in LIMITS_PX}
    best = min(LIMITS_PX, key=lambda px: (round(overall[px], 4), px))
    lines += ["", "Mean over all degradations: " + ", ".join(
        f"{'none' if px == 0 else f'{px} px'} {overall[px]:.4f}" for px in LIMITS_PX)
        + f". Lowest: {'no registration' if best == 0 else f'shifts up to {best} px'}."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

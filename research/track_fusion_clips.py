"""Track-level fusion on real video: the Hamilton clip and the HDTF talking head, degraded frame by frame.

Run: ``python -m research.track_fusion_clips [--rule pooled:8:4]`` (~3 min on one core); writes
``docs/evaluation/track_fusion_clips.md``.

The tracks are the product's own on the clean clip (``analyze_video``, 10 fps analysis, no enhancement): each
track's boxes and frames. Each track is cut into pieces of ``--chunk`` analysed frames (1 s), and every frame of a
piece is degraded independently (its own blur kernel, noise and gain draw; ``research.degrade``) inside the margin
crop the analysis keeps, then scored by ``crop_quality`` and embedded as ``TrackMatcher`` does; ``--repeats`` draws
per piece. Who a track is: on the clean clip, its pooled descriptor's nearest reference photo when nearer than 0.5
(Lin-Manuel Miranda or Alex Lacamoire, the clip's reference photos), else a stranger (the audience, the cast); the
HDTF clip is Alexandria Ocasio-Cortez, enrolled from its first clean frame and probed only with frames 2 s and
later. The gallery adds 100 LFW pairsDevTest people as distractors, so a wrong identity can happen. Decisions at the
threshold the footage analysis alerts with for that gallery (``enhancement.match.open_set_threshold``) under each
rule, as in ``research/track_fusion.py``. The two reference photos are enrolled as the product enrols a suspect's
photo: the embedding of the one face ``enhancement.detect.reference_faces`` finds in it (until 2026-12-02 the whole
photo was embedded, which misaligned Lacamoire's chip and drew degraded Miranda tracks to him).
"""

from __future__ import annotations

import argparse
import time
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from enhancement.analysis import AnalysisConfig, analyze_video
from enhancement.analysis.matching import embedding_view
from enhancement.datasets import REPO_ROOT, lfw_pairs, shared_data_dir
from enhancement.detect import reference_faces
from enhancement.embed import aligned_chips, describe_chips, embed_face
from enhancement.frames import crop_quality, crop_with_margin
from enhancement.fusion import FusionRule, average_chips, identities_distances
from enhancement.match import open_set_threshold

from . import degrade
from .evaluate.probes import face_crop
from .evaluate.verification import load

OUT = REPO_ROOT / "docs" / "evaluation" / "track_fusion_clips.md"
KNOWN_DISTANCE = 0.5
HDTF_PERSON = "alexandria-ocasio-cortez"


def parse_rule(text: str) -> FusionRule:
    name, keep, power = text.split(":")
    return FusionRule(name, None if keep == "all" else int(keep), float(power))


def clips() -> list[tuple[str, Path, int]]:
    """(name, path, first analysed frame index usable as a probe)."""
    data = shared_data_dir()
    hdtf = next((data / "hdtf_clip_sadtalker" / "ref_video").glob("*.mp4"))
    return [("hamilton", data / "face_recognition_examples" / "short_hamilton_clip.mp4", 0), ("hdtf", hdtf, 50)]


def read_frames(path: Path, indices: set[int]) -> dict[int, np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames, i = {}, 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i in indices:
            frames[i] = frame
        i += 1
    cap.release()
    return frames


def gallery() -> tuple[np.ndarray, np.ndarray]:
    data = shared_data_dir()
    vectors, labels = [], []
    for name in ("lin-manuel-miranda", "alex-lacamoire"):
        image = cv2.imread(str(data / "face_recognition_examples" / f"{name}.png"), cv2.IMREAD_COLOR)
        faces = reference_faces(image)  # enrolled as the product enrols a suspect's photo: its one face's box
        if len(faces) != 1:
            raise RuntimeError(f"{name}.png: {len(faces)} faces found, enrolment needs exactly one")
        vectors.append(embed_face(image, faces[0], backend="tf"))
        labels.append(name)
    path = clips()[1][1]
    first = read_frames(path, {0})[0]
    result = analyze_video(path, gallery=None, config=AnalysisConfig(enhance=False, max_fps=25)).tracks[0]
    vectors.append(embed_face(first, result.boxes[0], backend="tf"))
    labels.append(HDTF_PERSON)
    seen: set[str] = set()
    for a, _, _ in lfw_pairs("pairsDevTest"):
        if a.parent.name in seen or len(seen) >= 100:
            continue
        seen.add(a.parent.name)
        crop, box = face_crop(load(a), 1.0)
        vectors.append(embed_face(crop, box, backend="tf"))
        labels.append(a.parent.name)
    return np.stack(vectors), np.array(labels)


def track_pieces(chunk: int) -> list[dict[str, Any]]:
    """The clean clips' tracks cut into pieces: clip, frames, boxes."""
    pieces = []
    for name, path, first_probe in clips():
        result = analyze_video(path, gallery=None, config=AnalysisConfig(enhance=False))
        for track in result.tracks:
            pts = [(f, b) for f, b in zip(track.frames, track.boxes, strict=True) if f >= first_probe]
            for start in range(0, len(pts) - chunk // 2, chunk):  # the last piece only if at least half full
                part = pts[start:start + chunk]
                pieces.append({"clip": name, "path": path, "track": track.key, "frames": [f for f, _ in part],
                               "boxes": [b for _, b in part]})
    return pieces


def degrade_crop(crop: np.ndarray, degradation: str, seed: int) -> tuple[np.ndarray, float]:
    """The crop degraded, and how much smaller it became."""
    out = degrade.degrade(crop, degradation, seed).image
    return out, out.shape[1] / crop.shape[1]


def embed_piece(piece: dict[str, Any], frames: dict[int, np.ndarray], degradation: str,
                seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Each embedded frame's descriptor and quality weight, and the descriptor of the registered average of the
    best ``chip_average_keep`` of their chips (``enhancement.fusion.average_chips``; None with fewer than 2 frames),
    as ``TrackMatcher`` makes them."""
    face_px, min_px = AnalysisConfig().embed_face_px, AnalysisConfig().min_face_px
    chips, weights = [], []
    for f, box in zip(piece["frames"], piece["boxes"], strict=True):
        crop, inner = crop_with_margin(frames[f], box, 0.3)
        s = zlib.crc32(f"{seed}:{piece['clip']}:{piece['track']}:{f}:{degradation}".encode())
        out, scale = degrade_crop(crop, degradation, s) if degradation != "clean" else (crop, 1.0)
        x, y, w, h = (int(round(v * scale)) for v in inner)
        if min(w, h) < min_px:  # the analysis does not embed faces this small
            continue
        q = crop_quality(out[y:y + h, x:x + w])
        weights.append(float(np.sqrt(w * h) * q.score))
        image, ebox = embedding_view(out, (x, y, w, h), face_px)
        chips.append(aligned_chips(image, [ebox])[0][0])
    w = np.array(weights)
    averaged = [average_chips(chips, w, AnalysisConfig().chip_average_keep)] if len(chips) >= 2 else []
    described = describe_chips(chips + averaged, "tf").reshape(-1, 128)
    return described[:len(chips)], w, (described[len(chips)] if averaged else None)


def decide(gallery_v: np.ndarray, labels: np.ndarray, vectors: np.ndarray, weights: np.ndarray,
           rule: FusionRule, threshold: float, chip: np.ndarray | None = None) -> set[str]:
    if not len(vectors):
        return set()
    if rule.name == "any_frame":
        d = np.linalg.norm(gallery_v[:, None] - vectors[None], axis=2)
        return {str(labels[k]) for f, k in enumerate(d.argmin(axis=0)) if d[k, f] < threshold}
    names = sorted(set(labels))
    _, combined = identities_distances([gallery_v[labels == n] for n in names], vectors, weights, rule, chip)
    dist = dict(zip(names, combined, strict=True))
    best = min(names, key=lambda n: dist[n])
    return {best} if dist[best] < threshold else set()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m research.track_fusion_clips", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rule", type=parse_rule, default=parse_rule("pooled:8:4"),
                    help="the fusion rule measured against the baselines, name:keep:power")
    ap.add_argument("--chunk", type=int, default=10, help="analysed frames per piece (10 fps: 1 s)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--degradations", nargs="+", default=["clean", "blur", "low_light", "combined"])
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    gallery_v, labels = gallery()
    threshold = open_set_threshold(len(set(labels)))
    refs = {n: gallery_v[labels == n][0] for n in ("lin-manuel-miranda", "alex-lacamoire")}
    pieces = track_pieces(args.chunk)
    frames = {name: read_frames(path, {f for p in pieces if p["clip"] == name for f in p["frames"]})
              for name, path, _ in clips()}
    for p in pieces:  # who is it: decided on the clean frames
        vectors, weights, _ = embed_piece(p, frames[p["clip"]], "clean", 0)
        if p["clip"] == "hdtf":
            p["person"] = HDTF_PERSON
        else:
            pooled = vectors.mean(axis=0)
            name, d = min(((n, float(np.linalg.norm(pooled - r))) for n, r in refs.items()), key=lambda t: t[1])
            p["person"] = name if d < KNOWN_DISTANCE else None
    product = AnalysisConfig().fusion_rule
    plain = replace(product, chip_average=False)
    ungated = replace(product, chip_max_gain=None)
    guard = (f", the chip lowering only the crops' nearest identity, by at most {product.chip_max_gain:g}"
             if product.chip_average and product.chip_max_gain is not None else "")
    rules = [("before fusion: best 3 by quality, mean distance", FusionRule("best_k_distance", 3, 1.0)),
             (f"product default: {product.name} best-{product.keep}, weight^{product.power:g}"
              + (", or the averaged chip, nearer" if product.chip_average else "") + guard, product),
             ("the same, the averaged chip unbounded (nearer view for every identity)", ungated),
             (f"{plain.name} best-{plain.keep}, weight^{plain.power:g} (without the averaged chip)", plain),
             ("any frame matches", FusionRule("any_frame")),
             ("plain mean of all embeddings", FusionRule("mean")),
             (f"pooled best-{args.rule.keep or 'all'}, weight^{args.rule.power:g}", args.rule)]
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for deg in args.degradations:
        for p in pieces:
            for r in range(args.repeats if deg != "clean" else 1):
                vectors, weights, chip = embed_piece(p, frames[p["clip"]], deg, args.seed + r)
                for name, rule in dict.fromkeys(rules):
                    named = decide(gallery_v, labels, vectors, weights, rule, threshold, chip)
                    c = counts.setdefault((deg, name), {"known": 0, "identified": 0, "wrong": 0, "strangers": 0,
                                                        "alerts": 0})
                    if p["person"] is None:
                        c["strangers"] += 1
                        c["alerts"] += bool(named)
                    else:
                        c["known"] += 1
                        c["identified"] += p["person"] in named
                        c["wrong"] += bool(named - {p["person"]})
    known = sum(1 for p in pieces if p["person"])
    lines = [
        "# Track-level fusion on real clips", "",
        f"Generated by `python -m research.track_fusion_clips` in {(time.perf_counter() - t0) / 60:.1f} min. "
        "Method: the docstring of `research/track_fusion_clips.py`.", "",
        f"- {len(pieces)} track pieces of up to {args.chunk} analysed frames: {known} of a known person "
        f"({sum(1 for p in pieces if p['person'] == HDTF_PERSON)} HDTF, the rest Hamilton), "
        f"{len(pieces) - known} of strangers; {args.repeats} independent degradation draws per piece "
        f"(clean: one). Gallery: {len(labels)} people; alert threshold for that gallery {threshold:.4f}.", "",
        "Known pieces identified / named as someone else, and stranger pieces that raised an alert "
        "(counts, of known / of strangers):", "",
        "| degradation | " + " | ".join(n for n, _ in rules) + " |", "|---|" + "---|" * len(rules)]
    for deg in args.degradations:
        cells = []
        for name, _ in rules:
            c = counts[(deg, name)]
            cells.append(f"{c['identified']}/{c['known']} ; wrong {c['wrong']} ; strangers {c['alerts']}/"
                         f"{c['strangers']}")
        lines.append(f"| {deg} | " + " | ".join(cells) + " |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

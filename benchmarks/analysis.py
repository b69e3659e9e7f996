"""Footage analysis speed and memory: wall time per stage against decode-only, in the same run.

Run: ``.venv/bin/python benchmarks/analysis.py [--long-minutes 10] [--skip-long]``; prints tables and writes
``docs/benchmarks/analysis.md``.

- Clips: the Hamilton sample (640x360, 29.97 fps, 9.2 s) as it is and bicubic-upscaled to 1280x720 and 1920x1080,
  and the SYNTHETIC CCTV clip (``enhancement.synthetic``) made at 1280x720 and 1920x1080. Gallery: the two Hamilton
  people enrolled from their reference photos.
- Baseline: decode-only = reading and converting every frame with OpenCV, the least any analysis must pay.
- Analysis: ``enhancement.analysis.analyze_video`` with the default ``AnalysisConfig`` (10 fps analysis rate,
  full-frame Haar on a 640 px copy every 6 analysed frames when something moved, ROI re-detection of live tracks,
  3 best crops per track enhanced and embedded raw + enhanced).
- Memory: peak RSS of a fresh process analysing a ``--long-minutes`` video made by looping the 640x360 synthetic
  clip (one walker every 6 s), sampled along the way to show it stays flat (frames are streamed, never held).
- Models (TensorFlow deblur, dlib) are loaded once before timing; their one-time load is reported on its own.
The machine's 2 cores may be shared with other jobs, so every ratio is against a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from enhancement.analysis import STAGES, AnalysisConfig, analyze_video  # noqa: E402
from enhancement.datasets import shared_data_dir  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "analysis.md"


def gallery():
    from PIL import Image

    from enhancement.detect import detect_faces
    from enhancement.embed import embed_face
    from enhancement.match import Gallery

    folder = shared_data_dir() / "face_recognition_examples"
    vectors, labels = [], []
    for name in ("lin-manuel-miranda", "alex-lacamoire"):
        image = cv2.cvtColor(np.asarray(Image.open(folder / f"{name}.png").convert("RGB")), cv2.COLOR_RGB2BGR)
        vectors.append(embed_face(image, detect_faces(image)[0].box))
        labels.append(name)
    return Gallery(vectors, labels)


def decode_only(path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return time.perf_counter() - t0, n


def clip_info(path: Path) -> tuple[int, int, float, float]:
    cap = cv2.VideoCapture(str(path))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps, n = cap.get(cv2.CAP_PROP_FPS), cap.get(cv2.CAP_PROP_FRAME_COUNT)
    cap.release()
    return w, h, fps, n / fps


def bench_clip(name: str, path: Path, g) -> dict:
    w, h, fps, duration = clip_info(path)
    decode_s, frames = decode_only(path)
    t0 = time.perf_counter()
    result = analyze_video(path, gallery=g, config=AnalysisConfig())
    wall = time.perf_counter() - t0
    return {"clip": name, "size": f"{w}x{h}", "fps": round(fps, 2), "duration_s": round(duration, 2),
            "frames": frames, "analysed": result.frames_analysed, "decode_only_s": round(decode_s, 2),
            "analysis_s": round(wall, 2), "x_decode": round(wall / decode_s, 2),
            "x_realtime": round(wall / duration, 2),
            "stages": {k: round(v, 2) for k, v in result.stage_seconds.items()}, "tracks": len(result.tracks),
            "matched": sorted({t.decision for t in result.tracks if t.decision})}


LONG_CHILD = r"""
import json, resource, sys, time, psutil
sys.path.insert(0, sys.argv[2])
from enhancement.analysis import analyze_video, AnalysisConfig
sys.path.insert(0, sys.argv[2] + "/benchmarks")
from analysis import warm_up
warm_up()
proc, samples = psutil.Process(), []
def progress(p):
    if not samples or p.percent - samples[-1][0] >= 10:
        samples.append((round(p.percent, 1), round(proc.memory_info().rss / 2**20, 1)))
t0 = time.perf_counter()
# on_track as the footage job uses it: each finished track is handed over (and its images released) at once.
r = analyze_video(sys.argv[1], gallery=None, config=AnalysisConfig(), progress_cb=progress, on_track=lambda t: None)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": round(time.perf_counter() - t0, 1), "frames_analysed": r.frames_analysed,
                  "tracks": len(r.tracks), "peak_rss_mib": round(peak, 1),
                  "samples": samples, "stages": {k: round(v, 1) for k, v in r.stage_seconds.items()}}))
"""


def warm_up() -> float:
    """Load every model the analysis may use (deblur's TensorFlow graph, dlib), once; returns the seconds spent."""
    from enhancement.embed import embed_face
    from enhancement.pipeline import enhance_face
    from enhancement.synthetic import ASTRONAUT_FACE, astronaut_bgr

    t0 = time.perf_counter()
    face = cv2.GaussianBlur(astronaut_bgr()[40:300, 150:300], (0, 0), 3)
    for steps in (["lime"], ["deblur"]):
        try:
            enhance_face(face, steps=steps)
        except Exception as exc:  # a step without weights on this machine: the analysis will skip it too
            print(f"warm-up: {steps} unavailable ({exc})")
    embed_face(astronaut_bgr(), ASTRONAUT_FACE)
    return time.perf_counter() - t0


def bench_long(source: Path, minutes: float, folder: Path) -> dict:
    from enhancement.synthetic import loop_clip

    path = folder / f"loop-{minutes:g}min.mp4"
    frames = loop_clip(source, path, seconds=minutes * 60)
    size_mib = path.stat().st_size / 2**20
    w, h = clip_info(path)[:2]
    decode_s, _ = decode_only(path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", LONG_CHILD, str(path), str(REPO)], capture_output=True, text=True,
                         env=env, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    raw_mib = frames * w * h * 3 / 2**20
    return {"minutes": minutes, "frames": frames, "file_mib": round(size_mib, 1), "decoded_video_mib": round(raw_mib),
            "decode_only_s": round(decode_s, 1), **result}


def markdown(rows: list[dict], long: dict | None, load: tuple[float, float, float], warm_s: float) -> str:
    lines = ["# Footage analysis benchmark", "",
             "Produced by `benchmarks/analysis.py` (see its docstring for the method). 2 shared CPU cores; "
             f"load average at the start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (above 2 means other jobs "
             "shared the cores and absolute seconds are pessimistic): compare each row with its own "
             "decode-only baseline.",
             "",
             f"One-time model load before the runs (TensorFlow deblur graph, dlib): {warm_s:.1f} s (not in the rows).",
             "",
             "| clip | size | duration s | frames (analysed) | decode-only s | analysis s | x decode-only "
             "| x real time | tracks | matched |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['clip']} | {r['size']} | {r['duration_s']} | {r['frames']} ({r['analysed']}) | "
                     f"{r['decode_only_s']} | {r['analysis_s']} | {r['x_decode']} | {r['x_realtime']} | "
                     f"{r['tracks']} | {', '.join(r['matched']) or '-'} |")
    lines += ["", "Seconds per stage (inside the analysis run):", "",
              "| clip | " + " | ".join(STAGES) + " |", "|---|" + "---|" * len(STAGES)]
    for r in rows:
        lines.append(f"| {r['clip']} {r['size']} | " + " | ".join(str(r["stages"][s]) for s in STAGES) + " |")
    if long:
        lines += ["", f"## Memory on a {long['minutes']:g}-minute video", "",
                  f"The synthetic clip looped to {long['frames']} frames (640x360, {long['file_mib']} MiB file; "
                  f"{long['decoded_video_mib']} MiB if all decoded frames were held), analysed in a fresh process "
                  "with no gallery:", "",
                  f"- peak RSS **{long['peak_rss_mib']} MiB**; RSS (MiB) at each 10 % of progress: "
                  + ", ".join(f"{p}% {m}" for p, m in long["samples"]),
                  f"- analysis {long['wall_s']} s vs decode-only {long['decode_only_s']} s "
                  f"(x{long['wall_s'] / long['decode_only_s']:.2f}); x{long['wall_s'] / (long['minutes'] * 60):.2f} "
                  f"real time; {long['frames_analysed']} frames analysed, {long['tracks']} tracks",
                  f"- stages (s): {long['stages']}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--skip-long", action="store_true")
    parser.add_argument("--only-long", action="store_true", help="just the memory run; prints it, writes nothing")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    load = os.getloadavg()
    if args.only_long:
        from enhancement.synthetic import make_cctv_clip

        with tempfile.TemporaryDirectory() as tmp:
            clip = make_cctv_clip(Path(tmp) / "synthetic-360.mp4").path
            print(json.dumps({"load": load, **bench_long(clip, args.long_minutes, Path(tmp))}), flush=True)
        return
    source = shared_data_dir() / "face_recognition_examples" / "short_hamilton_clip.mp4"
    warm_s = warm_up()
    g = gallery()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        from enhancement.synthetic import make_cctv_clip, rescale_clip

        clips = [("hamilton", source)]
        for height in (720, 1080):
            path = folder / f"hamilton-{height}.mp4"
            rescale_clip(source, path, height=height)
            clips.append(("hamilton", path))
        for height, width in ((720, 1280), (1080, 1920)):
            clips.append(("synthetic", make_cctv_clip(folder / f"synthetic-{height}.mp4", width=width, height=height,
                                                      face_px=60 * height // 360, seconds=6.0).path))
        for name, path in clips:
            row = bench_clip(name, path, g)
            rows.append(row)
            print(json.dumps(row), flush=True)
        long_source = make_cctv_clip(folder / "synthetic-360.mp4").path
        long = None if args.skip_long else bench_long(long_source, args.long_minutes, folder)
        if long:
            print(json.dumps(long), flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(markdown(rows, long, load, warm_s))
    print(OUT.read_text())


if __name__ == "__main__":
    main()

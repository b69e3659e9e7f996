"""Enhancement library benchmark: prints markdown tables and writes ``docs/benchmarks/enhancement.md``.

Run: ``python benchmarks/enhancement.py [--quick]``. Every timing table carries its baseline measured in the same run
(bicubic resize for the enhancement steps, plain JPEG decode for detection, a full sort for gallery search).
SRCNN and deblur rows appear only when their modules and committed weights load; otherwise the table says why.
Timings are medians over repeats on whatever machine runs this (the header records it); they are shared cores, so
treat them as indicative.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enhancement import lime  # noqa: E402
from enhancement.datasets import REPO_ROOT, lfw_images, shared_data_dir, split_identities  # noqa: E402
from enhancement.detect import detect_faces, iou  # noqa: E402
from enhancement.embed import aligned_chips, describe_chips  # noqa: E402
from enhancement.match import CALIBRATION_FILE, Gallery  # noqa: E402
from enhancement.pipeline import resolve_step  # noqa: E402
from enhancement.quality import measure_quality  # noqa: E402

OUT = REPO_ROOT / "docs" / "benchmarks" / "enhancement.md"
LFW_FACE_BOX = (68, 67, 115, 115)

# Faces in the faceapi_bbt group scenes, checked by eye: every visible face that shows its eyes (people seen from
# behind do not count). Boxes are MTCNN's (confidence >= 0.95) after checking each one on the image; MTCNN's one
# other box (bbt1, 0.856, a reflection on the table) is not a face and was left out.
BBT_FACES = {
    "bbt1.jpg": [(212, 128, 94, 127), (733, 134, 85, 114), (476, 141, 91, 122), (999, 78, 93, 135)],
    "bbt2.jpg": [(377, 116, 79, 108), (99, 117, 75, 108), (0, 89, 49, 70)],
    "bbt3.jpg": [(366, 106, 53, 70), (490, 95, 58, 75), (36, 24, 56, 75), (157, 89, 44, 68), (261, 101, 41, 58)],
    "bbt4.jpg": [(86, 21, 78, 112), (464, 169, 93, 132), (52, 246, 95, 134), (235, 39, 84, 119), (260, 227, 80, 112),
                 (580, 68, 79, 103)],
    "bbt5.jpg": [(573, 43, 80, 104), (222, 33, 72, 99), (438, 148, 81, 113), (107, 150, 90, 118), (714, 103, 89, 108)],
}


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` in milliseconds (one untimed warm-up call first)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def lfw_sample(n: int, seed: int = 0) -> list[Path]:
    paths = [p for ident in split_identities("eval") for p in lfw_images(ident)]
    random.Random(seed).shuffle(paths)
    return paths[:n]


def central_hit(detections: list, shape: tuple[int, ...]) -> bool:
    h, w = shape[:2]
    return any(abs(d.box[0] + d.box[2] / 2 - w / 2) < 0.15 * w and abs(d.box[1] + d.box[3] / 2 - h / 2) < 0.15 * h
               for d in detections)


def darken(image: np.ndarray) -> np.ndarray:
    linear = (image.astype(np.float32) / 255.0) ** 2.2 * 0.1
    return np.clip(linear ** (1 / 2.2) * 255.0, 0, 255).astype(np.uint8)


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def optional_step(name: str, params: dict, probe: np.ndarray) -> tuple[Callable | None, str]:
    try:
        step = resolve_step(name)
        step(probe, params)
        return step, ""
    except Exception as exc:  # any failure to load or run means "not available here"; the reason is printed
        return None, f"{type(exc).__name__}: {str(exc)[:160]}"


def bench_steps(quick: bool) -> str:
    repeats = 3 if quick else 7
    faces = [cv2.imread(str(p))[67:182, 68:183] for p in lfw_sample(4, seed=3)]
    rows, notes = [], []
    sr_variants = []
    for model, scale in (("face", 2), ("face", 4), ("general", 3)):
        step, why = optional_step("srcnn", {"scale": scale, "model": model}, cv2.resize(faces[0], (32, 32)))
        if step is None:
            notes.append(f"SRCNN {model} x{scale} rows skipped: {why}")
        else:
            sr_variants.append((model, scale, step))
    deblur, why_deblur = optional_step("deblur", {}, cv2.resize(faces[0], (64, 64)))
    if deblur is None:
        notes.append(f"deblur rows skipped: {why_deblur}")
    for size in (32, 64, 128):
        crops = [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in faces]
        dark = [darken(c) for c in crops]

        def each(fn: Callable[[np.ndarray], object], images: list[np.ndarray] = crops) -> Callable[[], None]:
            return lambda: [fn(c) for c in images]

        n = len(crops)
        cases = [
            ("bicubic x2 (baseline)", each(lambda c: cv2.resize(c, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))),
            ("bicubic x3 (baseline)", each(lambda c: cv2.resize(c, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))),
            ("bicubic x4 (baseline)", each(lambda c: cv2.resize(c, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC))),
            ("quality measure", each(measure_quality)),
            ("LIME exact", each(lambda c: lime.lime_step(c, {}), dark)),
            ("LIME fast", each(lambda c: lime.lime_step(c, {"fast": True}), dark)),
            ("LIME exact + denoise", each(lambda c: lime.lime_step(c, {"denoise": True}), dark)),
        ]
        for model, scale, step in sr_variants:
            params = {"scale": scale, "model": model}
            cases.append((f"SRCNN {model} x{scale}", each(lambda c, st=step, p=params: st(c, p))))
        if deblur is not None:
            cases.append(("deblur", each(lambda c: deblur(c, {}))))
        for name, fn in cases:
            rows.append([f"{size} px", name, f"{timed(fn, repeats) / n:.2f}"])
    out = "## Time per step per face crop\n\nMedian ms per crop (4 LFW evaluation faces resized to each size; " \
          "LIME on darkened copies). Bicubic resizing is the baseline from the same run. LIME fast solves at 160 px " \
          "on the long side, so on crops this small it is the exact solve (its rows differ by timing noise only).\n\n"
    out += table(["face", "step", "ms per face"], rows)
    if notes:
        out += "\n\n" + "\n".join(f"- {n}" for n in notes)
    return out


def bench_detection(quick: bool) -> str:
    repeats = 2 if quick else 5
    data = shared_data_dir()
    frames = {"obama-1080p.jpg": cv2.imread(str(data / "face_recognition_examples" / "obama-1080p.jpg")),
              "bbt1.jpg scaled to 1920x1080": cv2.resize(cv2.imread(str(data / "faceapi_bbt" / "images" / "bbt1.jpg")),
                                                         (1920, 1080), interpolation=cv2.INTER_CUBIC)}
    rows = []
    for name, frame in frames.items():
        frame = cv2.resize(frame, (1920, 1080)) if frame.shape[:2] != (1080, 1920) else frame
        jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
        cases = [("plain JPEG decode (baseline)", lambda j=jpeg: cv2.imdecode(j, cv2.IMREAD_COLOR)),
                 ("Haar defaults (1.1, 5, 30 px)", lambda f=frame: detect_faces(f, "haar")),
                 ("Haar fast (1.2, 5, 60 px)", lambda f=frame: detect_faces(f, "haar", scale_factor=1.2, min_size=60)),
                 ("MTCNN defaults (min face 20 px)", lambda f=frame: detect_faces(f, "mtcnn")),
                 ("MTCNN min face 60 px", lambda f=frame: detect_faces(f, "mtcnn", min_face_size=60))]
        for label, fn in cases:
            found = "" if "decode" in label else len(fn())
            rows.append([name, label, f"{timed(fn, repeats):.1f}", found])
    return "## Detection per 1080p frame\n\nMedian ms per 1920x1080 frame; plain decode of the same frame as JPEG is " \
           "the baseline.\n\n" + table(["frame", "detector", "ms per frame", "faces found"], rows)


def bench_recall(quick: bool) -> str:
    n = 100 if quick else 500
    paths = lfw_sample(n, seed=1)
    rows = []
    for detector in ("haar", "mtcnn"):
        t0 = time.perf_counter()
        hits = sum(central_hit(detect_faces(cv2.imread(str(p)), detector), (250, 250)) for p in paths)
        ms = (time.perf_counter() - t0) * 1000.0 / n
        rows.append([detector, f"{hits}/{n}", f"{hits / n:.1%}", f"{ms:.1f}"])
    out = f"## Detection recall\n\n### LFW\n\nFixed sample of {n} LFW images of evaluation identities (seed 1), one " \
          "centred face each (250x250): a hit is a box whose centre lies in the middle 30 % of the frame.\n\n"
    out += table(["detector", "hits", "recall", "ms per image"], rows)
    bbt_rows, totals = [], {"haar": [0, 0], "mtcnn": [0, 0]}
    for name, truth in BBT_FACES.items():
        image = cv2.imread(str(shared_data_dir() / "faceapi_bbt" / "images" / name))
        row = [name, len(truth)]
        for detector in ("haar", "mtcnn"):
            found = detect_faces(image, detector)
            matched = sum(any(iou(d.box, t) >= 0.3 for d in found) for t in truth)
            extra = sum(not any(iou(d.box, t) >= 0.3 for t in truth) for d in found)
            totals[detector][0] += matched
            totals[detector][1] += extra
            row += [matched, extra]
        bbt_rows.append(row)
    total = sum(len(t) for t in BBT_FACES.values())
    bbt_rows.append(["**all**", total, totals["haar"][0], totals["haar"][1], totals["mtcnn"][0], totals["mtcnn"][1]])
    out += "\n\n### faceapi_bbt group scenes\n\nFaces counted by eye (see `BBT_FACES` in this script); a face is " \
           "found when a detection overlaps it with IoU >= 0.3; other detections are false positives.\n\n"
    out += table(["scene", "faces", "Haar found", "Haar false pos.", "MTCNN found", "MTCNN false pos."], bbt_rows)
    return out


def bench_lime(quick: bool) -> str:
    paths = sorted((shared_data_dir() / "lime_test" / "LIME").glob("*.bmp"))
    if quick:
        paths = paths[:2]
    rows, sums = [], np.zeros(9)
    for path in paths:
        image = cv2.resize(cv2.imread(str(path)), (640, 480), interpolation=cv2.INTER_AREA)
        t0 = time.perf_counter()
        exact, t_exact = lime.enhance(image)
        ms_exact = (time.perf_counter() - t0) * 1000.0
        ms_fast = timed(lambda im=image: lime.enhance(im, fast=True), 3)
        fast, t_fast = lime.enhance(image, fast=True)
        values = [image.mean(), exact.mean(), fast.mean(), lime.lightness_order_error(image, exact),
                  lime.lightness_order_error(image, fast), ms_exact, ms_fast, np.abs(t_exact - t_fast).mean(),
                  np.abs(exact.astype(np.int16) - fast.astype(np.int16)).mean()]
        sums += values
        rows.append([path.name] + [f"{v:.1f}" for v in values[:7]] + [f"{values[7]:.4f}", f"{values[8]:.2f}"])
    mean = sums / len(paths)
    rows.append(["**mean**"] + [f"{v:.1f}" for v in mean[:7]] + [f"{mean[7]:.4f}", f"{mean[8]:.2f}"])
    header = ["image", "brightness in", "exact out", "fast out", "LOE exact", "LOE fast", "ms exact", "ms fast",
              "mean abs T diff", "mean abs output diff (0-255)"]
    return "## LIME at 640x480\n\nThe LIME test images resized to 640x480. Brightness: mean of all channels (0-255). " \
           "LOE: lightness order error (lower is better; downsampled to 50 px short side). Exact: full sparse " \
           "solve; fast: solve at 160 px long side + guided upsampling. The last two columns are the fast variant's " \
           "distance from the exact one.\n\n" + table(header, rows)


def realistic_gallery(n: int, per_identity: int = 5, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """``n`` synthetic 128-d descriptors shaped like real ones: identity centres are convex mixtures of two real LFW
    descriptors plus noise (so they spread like real faces), samples add within-person noise whose size matches
    the measured same-person distance on LFW (median ~0.35-0.4 -> sigma ~0.024 per dimension)."""
    from enhancement.lfw import load_cache

    rng = np.random.default_rng(seed)
    real = np.stack([v for k, v in load_cache().items() if not k.startswith("__")] or [rng.normal(0, 0.09, 128)])
    n_ids = n // per_identity
    a, b = real[rng.integers(0, len(real), n_ids)], real[rng.integers(0, len(real), n_ids)]
    mix = rng.uniform(0.2, 0.8, (n_ids, 1))
    centres = mix * a + (1 - mix) * b + rng.normal(0, 0.02, (n_ids, 128))
    vectors = np.repeat(centres, per_identity, axis=0) + rng.normal(0, 0.024, (n_ids * per_identity, 128))
    labels = [f"id{i}" for i in range(n_ids) for _ in range(per_identity)]
    return vectors.astype(np.float32), labels


def bench_gallery(quick: bool) -> str:
    vectors, labels = realistic_gallery(100_000)
    gallery = Gallery(vectors, labels)
    rng = np.random.default_rng(1)
    probes = vectors[rng.integers(0, len(vectors), 50 if quick else 200)] + rng.normal(0, 0.024, (1, 128))
    probes = probes.astype(np.float32)

    def naive(p: np.ndarray) -> list:
        d = np.linalg.norm(vectors - p, axis=1)
        return [labels[i] for i in np.argsort(d)[:5]]

    times = {"top-5 `Gallery.search`": [], "full scan + argsort (baseline)": []}
    agree = 0
    for p in probes:
        for name, fn in (("top-5 `Gallery.search`", lambda p=p: gallery.search(p, 5)),
                         ("full scan + argsort (baseline)", lambda p=p: naive(p))):
            t0 = time.perf_counter()
            result = fn()
            times[name].append((time.perf_counter() - t0) * 1000.0)
            if name.startswith("top-5"):
                found = result[0].label
            else:
                agree += found == result[0]
    rows = [[name, f"{statistics.median(t):.2f}", f"{np.percentile(t, 95):.2f}"] for name, t in times.items()]
    return f"## Gallery search\n\n100,000 stored 128-d descriptors (20,000 synthetic identities x 5, shaped like " \
           f"real dlib descriptors: see `realistic_gallery`), {len(probes)} probes. Goal: top-5 < 20 ms. Top-1 " \
           f"identical to the baseline's for {agree}/{len(probes)} probes.\n\n" + \
           table(["search", "median ms", "p95 ms"], rows)


def bench_embedder(quick: bool) -> str:
    paths = lfw_sample(32, seed=5)
    images = [cv2.imread(str(p)) for p in paths]
    chips = [aligned_chips(im, [LFW_FACE_BOX])[0][0] for im in images]
    few = chips[:8 if quick else 20]
    align = timed(lambda: [aligned_chips(im, [LFW_FACE_BOX]) for im in images[:len(few)]], 2) / len(few)
    single = timed(lambda: [describe_chips([c], "dlib") for c in few], 2) / len(few)
    batched = timed(lambda: describe_chips(few, "dlib"), 2) / len(few)
    rows = [["5-point landmarks + 150 px chip", "-", f"{align:.1f}"],
            ["dlib-bin wheel, one chip per call (baseline)", "-", f"{single:.1f}"],
            [f"dlib-bin wheel, batch of {len(few)}", "-", f"{batched:.1f}"]]
    reference = describe_chips(chips, "dlib")
    ported = describe_chips(chips, "tf")
    for size in (1, 8, 32):
        ms = timed(lambda n=size: [describe_chips(chips[i:i + n], "tf") for i in range(0, 32, n)], 2) / 32
        rows.append([f"TensorFlow port (`enhancement/embed_tf.py`), batches of {size}", "", f"{ms:.1f}"])
    diff = float(np.abs(reference - ported).max())
    rows[3][1] = f"max abs diff vs dlib over 32 faces: {diff:.1e}"
    return "## Face embedder (dlib ResNet)\n\nThe same network and weights file in both rows; " \
           "`describe_chips(chips, backend)`.\n\n" + table(["stage", "agreement", "ms per face"], rows)


def calibration_section() -> str:
    if not CALIBRATION_FILE.exists():
        return "## Matcher calibration\n\nNot calibrated yet (`python -m research.calibrate_matcher`)."
    c = json.loads(CALIBRATION_FILE.read_text())
    t = c["dev_test"]
    rows = [["threshold (max accuracy on the balanced pairsDevTrain set)", c["threshold"]],
            ["balanced pairsDevTrain accuracy", f"{c['dev_train']['accuracy']:.4f} ({c['dev_train']['pairs']} pairs)"],
            ["pairsDevTest accuracy at that threshold", f"{t['accuracy']:.4f} ({t['pairs']} pairs)"],
            ["pairsDevTest TAR / FAR at that threshold", f"{t['tar_at_threshold']:.4f} / {t['far_at_threshold']:.4f}"],
            ["pairsDevTest TAR @ FAR = 1 %", f"{t['tar_at_far_1pct']:.4f} (threshold {t['threshold_at_far_1pct']})"]]
    return "## Matcher calibration (from `weights/matcher_calibration.json`)\n\n" + table(["figure", "value"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="enhancement library benchmark")
    parser.add_argument("--quick", action="store_true", help="fewer images and repeats (smoke run)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    cv2.setNumThreads(1)  # the team shares two cores; single-threaded figures are also the comparable ones
    header = (f"# Enhancement library benchmark\n\nWritten by `python benchmarks/enhancement.py"
              f"{' --quick' if args.quick else ''}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs (shared with other jobs), "
              f"OpenCV {cv2.__version__} with 1 thread. PSNR tables for the learned steps are in their model cards "
              f"(`weights/*.md`).")
    sections = [header]
    for bench in (bench_steps, bench_detection, bench_recall, bench_lime, bench_gallery, bench_embedder):
        text = bench(args.quick)
        print(text + "\n", flush=True)
        sections.append(text)
    sections.append(calibration_section())
    print(sections[-1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n\n".join(sections) + "\n")


if __name__ == "__main__":
    main()

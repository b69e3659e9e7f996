"""Command line: ``python -m enhancement enhance IN -o OUT [--steps auto|lime,srcnn,...] [--report r.json]`` and
``python -m enhancement detect IN [--detector haar|mtcnn]``. No Django needed.

Images are read with the product's decoder (``enhancement.imageio``: upright, BGR) and written with OpenCV.
Unreadable, missing or non-image input, an unknown step or a missing model ends with one ``error: ...`` line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from .detect import DETECTORS, crop_box, detect_faces
from .imageio import ImageDecodeError, decode_image
from .pipeline import ReplayMismatch, StepUnavailable, enhance_face
from .weights import WeightsError


class CliError(Exception):
    pass


def read_image(path: str) -> np.ndarray:
    p = Path(path)
    if not p.exists():
        raise CliError(f"input file not found: {path}")
    if not p.is_file():
        raise CliError(f"input is not a file: {path}")
    try:
        return decode_image(p)
    except ImageDecodeError as exc:
        raise CliError(f"cannot decode {path}: not an image, or the file is corrupt ({exc})") from exc


def cmd_detect(args: argparse.Namespace) -> int:
    image = read_image(args.input)
    params = {"min_size": args.min_size} if args.detector == "haar" else {"min_face_size": args.min_size}
    found = detect_faces(image, args.detector, **params)
    print(json.dumps({"image": args.input, "width": image.shape[1], "height": image.shape[0],
                      "detector": args.detector, "faces": [d.to_dict() for d in found]}, indent=2))
    return 0


def cmd_enhance(args: argparse.Namespace) -> int:
    image = read_image(args.input)
    face_box = None
    if args.detect:
        found = detect_faces(image, args.detector)
        if not found:
            raise CliError(f"no face found in {args.input}")
        face_box = found[0].box
        image = crop_box(image, face_box, margin=0.2)
    steps = args.steps if args.steps == "auto" else [s.strip() for s in args.steps.split(",") if s.strip()]
    result = enhance_face(image, steps=steps)
    out = Path(args.output)
    if out.parent and not out.parent.exists():
        raise CliError(f"output folder does not exist: {out.parent}")
    try:
        ok = cv2.imwrite(str(out), result.image)
    except cv2.error:
        ok = False
    if not ok:
        raise CliError(f"cannot write {out} (use an image extension such as .png)")
    report = {"input": args.input, "output": str(out), "face_box": face_box, **result.report()}
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    applied = ", ".join(r.step for r in result.records) or "none"
    print(f"{out}: steps applied: {applied}" + (" (AI-enhanced)" if result.ai_enhanced else ""))
    for step, reason in result.skipped:
        print(f"skipped {step}: {reason}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m enhancement", description="FaceCase face enhancement tools")
    sub = parser.add_subparsers(dest="command", required=True)
    enhance = sub.add_parser("enhance", help="enhance a face crop (or the best face of a frame with --detect)")
    enhance.add_argument("input")
    enhance.add_argument("-o", "--output", required=True)
    enhance.add_argument("--steps", default="auto", help="auto (quality policy) or a list such as lime,srcnn")
    enhance.add_argument("--report", help="write the provenance report (JSON) here")
    enhance.add_argument("--detect", action="store_true", help="input is a frame: enhance its most confident face")
    enhance.add_argument("--detector", choices=DETECTORS, default="haar")
    enhance.set_defaults(func=cmd_enhance)
    detect = sub.add_parser("detect", help="print the faces found in an image as JSON")
    detect.add_argument("input")
    detect.add_argument("--detector", choices=DETECTORS, default="haar")
    detect.add_argument("--min-size", type=int, default=30, help="smallest face side in pixels")
    detect.set_defaults(func=cmd_detect)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CliError, StepUnavailable, WeightsError, ReplayMismatch, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

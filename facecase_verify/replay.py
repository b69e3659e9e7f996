"""Replay of enhancement steps, only when FaceCase's ``enhancement`` library (and its weights) can be imported.

For each ``sightings/*/enhancement.json``: decode the raw crop (PNG, lossless), check that its pixel digest is the
first record's ``input_sha256``, rerun every recorded step with its recorded parameters
(``enhancement.pipeline.replay``, which checks every step's output digest), and compare the result pixel for pixel
with the enhanced crop in the package. Track crops are checked against their records' input digests.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

Report = Callable[[str, str, str], None]


def _library() -> Any:
    try:
        import cv2
        import numpy as np

        from enhancement import pipeline, provenance, weights
    except Exception as exc:  # any import failure means: no replay here, say why
        return exc
    return cv2, np, pipeline, provenance, weights


def replay_enhancements(archive: zipfile.ZipFile, listed: dict[str, dict[str, Any]], report: Report) -> None:
    records = sorted(name for name in listed if name.startswith("sightings/") and name.endswith("/enhancement.json"))
    if not records:
        return
    library = _library()
    if isinstance(library, Exception):
        report("SKIP", "replay", f"FaceCase's enhancement library is not importable here ({library}); the "
                                 "enhancements were not replayed")
        return
    cv2, np, pipeline, provenance, weights = library

    def decode(name: str) -> Any:
        data = np.frombuffer(archive.read(name), np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{name} cannot be decoded as an image")
        return image

    for name in records:
        try:
            record = json.loads(archive.read(name))
            raw_name, enhanced_name, steps = record["raw_crop"], record["enhanced_crop"], record["records"]
            raw = decode(raw_name)
            enhanced = decode(enhanced_name) if enhanced_name else None
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile, zlib.error) as exc:
            report("FAIL", name, f"cannot be replayed: {exc}")
            continue
        for crop in record.get("track_crops") or []:
            first = (crop.get("records") or [{}])[0]
            if crop.get("records") and crop.get("crop") in listed:
                try:
                    if provenance.image_sha256(decode(crop["crop"])) != first.get("input_sha256"):
                        report("FAIL", crop["crop"], f"pixels differ from the input recorded in {name}")
                except (ValueError, zipfile.BadZipFile, zlib.error) as exc:
                    report("FAIL", crop["crop"], f"cannot be decoded: {exc}")
        if not steps:
            if enhanced is not None and not np.array_equal(raw, enhanced):
                report("FAIL", enhanced_name, f"no step is recorded in {name}, yet it differs from {raw_name}")
            else:
                report("OK", name, "no enhancement step: the enhanced crop is the raw crop")
            continue
        if provenance.image_sha256(raw) != steps[0].get("input_sha256"):
            report("FAIL", raw_name, f"pixels differ from the input recorded in {name}")
            continue
        try:
            out = pipeline.replay(raw, steps)
        except pipeline.ReplayMismatch as exc:
            report("FAIL", name, f"replay does not reproduce the record: {exc}")
            continue
        except (pipeline.StepUnavailable, weights.WeightsError) as exc:  # weights absent here: not the package's fault
            report("SKIP", name, f"could not replay here: {type(exc).__name__}: {exc}")
            continue
        except Exception as exc:
            report("FAIL", name, f"replay failed: {type(exc).__name__}: {exc}")
            continue
        if enhanced is None or not np.array_equal(out, enhanced):
            report("FAIL", enhanced_name or name, f"replaying {name} from {raw_name} gives different pixels")
            continue
        report("OK", name, f"replayed {' -> '.join(s.get('step', '?') for s in steps)} from {raw_name}: "
                           f"pixels identical to {enhanced_name}")

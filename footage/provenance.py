"""What the provenance and sighting pages show of a sighting's enhancement chain, with the hashes checkable by eye.

Two kinds of SHA-256 are involved, as ``docs/evidence_export.md`` ("Which hash is which") defines them for the
evidence package too: a *file* hash is SHA-256 of the stored PNG's bytes (``raw_crop_sha256``,
``enhanced_crop_sha256``, the package's ``files[].sha256``); a *pixel* hash is ``enhancement.provenance.image_sha256``
of the decoded image (the step records' ``input_sha256``/``output_sha256``). The page shows both for each crop and
checks the chain: pixels(raw) = input(1), output(k) = input(k+1), output(n) = pixels(enhanced).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from enhancement.imageio import ImageDecodeError, decode_image
from enhancement.provenance import image_sha256
from footage.models import Sighting


@dataclass
class CropHashes:
    file_sha256: str
    pixel_sha256: str | None  # None: the stored file is missing or unreadable


@dataclass
class ProvenanceChain:
    raw: CropHashes
    enhanced: CropHashes
    steps: list[dict[str, Any]] = field(default_factory=list)
    links: list[tuple[str, bool]] = field(default_factory=list)  # (what is compared, whether it holds)
    # The averaged chip (a computed image beside the chain, not a step of it): its hashes and how it was made.
    averaged: CropHashes | None = None
    averaged_rows: list[tuple[str, str]] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return all(ok for _, ok in self.links)


def _crop_hashes(file_field: Any, recorded: str) -> CropHashes:
    pixels = None
    if file_field:
        try:
            image = decode_image(file_field.path)
        except (OSError, ImageDecodeError):
            image = None
        pixels = image_sha256(image) if image is not None else None
    return CropHashes(file_sha256=recorded or "", pixel_sha256=pixels)


def _rows(mapping: Any) -> list[tuple[str, str]]:
    """A dict as (name, value) rows for a readable table, nested values flattened with dots."""
    if not isinstance(mapping, dict):
        return [("", str(mapping))] if mapping not in (None, "", {}) else []
    rows: list[tuple[str, str]] = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            rows.extend((f"{key}.{sub}", text) for sub, text in _rows(value))
        elif isinstance(value, float):
            rows.append((str(key), f"{value:g}"))
        elif isinstance(value, (list, tuple)):
            rows.append((str(key), ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)))
        else:
            rows.append((str(key), str(value)))
    return rows


def provenance_chain(sighting: Sighting) -> ProvenanceChain:
    records = [r for r in (sighting.enhancement_records or []) if isinstance(r, dict)]
    chain = ProvenanceChain(raw=_crop_hashes(sighting.raw_crop, sighting.raw_crop_sha256),
                            enhanced=_crop_hashes(sighting.enhanced_crop, sighting.enhanced_crop_sha256))
    if sighting.averaged_chip:
        chain.averaged = _crop_hashes(sighting.averaged_chip, sighting.averaged_chip_sha256)
        record = sighting.averaged_chip_record if isinstance(sighting.averaged_chip_record, dict) else {}
        chain.averaged_rows = _rows({k: v for k, v in record.items() if k not in ("step", "ai_enhanced")})
    for index, record in enumerate(records, start=1):
        chain.steps.append({**record, "number": index, "param_rows": _rows(record.get("params")),
                            "version_rows": _rows(record.get("versions"))})
    if records:
        first_input = records[0].get("input_sha256")
        chain.links.append(("raw crop pixels = input of step 1", chain.raw.pixel_sha256 == first_input))
        for index in range(1, len(records)):
            chain.links.append((f"output of step {index} = input of step {index + 1}",
                                records[index - 1].get("output_sha256") == records[index].get("input_sha256")))
        chain.links.append((f"output of step {len(records)} = enhanced crop pixels",
                            chain.enhanced.pixel_sha256 == records[-1].get("output_sha256")))
    else:
        same = chain.raw.pixel_sha256 is not None and chain.raw.pixel_sha256 == chain.enhanced.pixel_sha256
        chain.links.append(("no step: enhanced crop pixels = raw crop pixels", same))
    return chain

"""Re-hash every stored evidence file against the SHA-256 the database (or its JSON record) holds.

Originals (footage, suspect photos, camera alerts' evidence clips) and derived files (sighting crops and track crops,
registry galleries, explanation heat-maps) are each checked: a file that is missing, or whose content no longer hashes
to the recorded value, is reported. Files with no recorded hash (full frames, suspect face crops) are
checked for presence only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from facecase.files import sha256_of_path

MISSING, MISMATCH, OK = "missing", "mismatch", "ok"


@dataclass(frozen=True)
class EvidenceFile:
    owner: str  # e.g. "footage 12 original"
    path: Path
    sha256: str | None  # None: presence only


@dataclass
class EvidenceReport:
    checked: int = 0
    problems: list[tuple[str, EvidenceFile, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _footage_files() -> Iterator[EvidenceFile]:
    from footage.models import Footage, Sighting

    for footage in Footage.objects.only("pk", "original", "sha256").iterator():
        yield EvidenceFile(f"footage {footage.pk} original", Path(footage.original.path), footage.sha256)
    fields = ("pk", "footage_id", "track_id", "raw_crop", "raw_crop_sha256", "enhanced_crop", "enhanced_crop_sha256",
              "averaged_chip", "averaged_chip_sha256", "frame", "track_frames")
    for sighting in Sighting.objects.only(*fields).iterator():
        owner = f"sighting {sighting.pk} (footage {sighting.footage_id}, track {sighting.track_id})"
        for name, digest in (("raw_crop", sighting.raw_crop_sha256), ("enhanced_crop", sighting.enhanced_crop_sha256),
                             ("averaged_chip", sighting.averaged_chip_sha256)):
            file = getattr(sighting, name)
            if file:
                yield EvidenceFile(f"{owner} {name}", Path(file.path), digest or None)
        if sighting.frame:
            yield EvidenceFile(f"{owner} frame", Path(sighting.frame.path), None)
        storage = Sighting._meta.get_field("raw_crop").storage
        for entry in sighting.track_frames or []:
            if isinstance(entry, dict) and entry.get("crop"):
                yield EvidenceFile(f"{owner} frame {entry.get('frame')} crop", Path(storage.path(entry["crop"])),
                                   entry.get("crop_sha256") or None)


def _registry_files() -> Iterator[EvidenceFile]:
    from suspects.models import RegistryVersion, SuspectPhoto

    for photo in SuspectPhoto.objects.only("pk", "suspect_id", "image", "sha256", "crop").iterator():
        owner = f"suspect {photo.suspect_id} photo {photo.pk}"
        yield EvidenceFile(f"{owner} image", Path(photo.image.path), photo.sha256)
        if photo.crop:
            yield EvidenceFile(f"{owner} face crop", Path(photo.crop.path), None)
    storage = SuspectPhoto._meta.get_field("image").storage
    for version in RegistryVersion.objects.filter(status=RegistryVersion.Status.READY).iterator():
        details = version.details or {}
        if details.get("gallery_file"):
            yield EvidenceFile(f"registry v{version.number} gallery", Path(storage.path(details["gallery_file"])),
                               version.gallery_sha256 or None)


def _explanation_files() -> Iterator[EvidenceFile]:
    from footage.explanations import _paths, explanation_state
    from footage.models import Alert

    for alert in Alert.objects.select_related("sighting").iterator():
        state = explanation_state(alert)
        paths = _paths(alert)
        if state and state.get("state") == "ready" and paths is not None:
            yield EvidenceFile(f"alert {alert.pk} explanation", paths[0], state.get("sha256") or None)


def _clip_files() -> Iterator[EvidenceFile]:
    from footage.models import Alert

    for alert in Alert.objects.exclude(clip="").only("pk", "camera_name", "clip", "clip_sha256").iterator():
        yield EvidenceFile(f"alert {alert.pk} evidence clip (camera {alert.camera_name})", Path(alert.clip.path),
                           alert.clip_sha256 or None)


def evidence_files() -> Iterator[EvidenceFile]:
    yield from _footage_files()
    yield from _clip_files()
    yield from _registry_files()
    yield from _explanation_files()


def evidence_verify() -> EvidenceReport:
    report = EvidenceReport()
    for item in evidence_files():
        report.checked += 1
        if not item.path.is_file():
            report.problems.append((MISSING, item, ""))
        elif item.sha256 is not None and (actual := sha256_of_path(item.path)) != item.sha256:
            report.problems.append((MISMATCH, item, actual))
    return report

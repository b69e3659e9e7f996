"""What an evidence package holds, and the audited services that write one.

``evidence_export_case(actor=..., case=..., alerts="confirmed"|"all")`` and ``evidence_export_alert(actor=...,
alert=...)`` write one signed zip into private storage (``exports/...``) and record an ``export`` audit event with
the package's SHA-256; ``evidence_download_record`` records each hand-over of it. Layout of the zip:

- ``case.json``; ``originals/footage-<id>/<name>`` (byte-identical to the upload; its SHA-256 is re-computed while
  copying and the export is refused when it differs from the one recorded at upload), ``footage/footage-<id>/``
  (``footage.json``: upload, probe and analysis settings; ``job_log.jsonl``);
- ``sightings/sighting-<id>/``: ``frame.jpg`` (full frame), ``raw.png``, ``enhanced.png``, ``track/frame-<n>.png``,
  ``enhancement.json`` (step records: steps, parameters, weights and their SHA-256, versions, input/output
  digests) and ``sighting.json`` (track, quality, scores, top candidates);
- ``alerts/alert-<id>/alert.json``: the match (raw and enhanced scores and distances, threshold and its basis,
  registry version and gallery SHA-256, embedder) and the review decisions; for a camera alert also the camera
  (name, location, source with credentials masked) and ``clip.webm``, the evidence clip (its SHA-256 recorded at
  capture re-checked while copying) with the wall-clock times it spans;
- ``suspects/suspect-<id>/``: the enrolled photos (re-verified) and ``suspect.json``;
- ``audit/audit_trail.jsonl``: every audit event about any object in the package;
- ``report.html`` / ``report.pdf`` (``report-2.pdf``... beyond 100 alerts: ``evidence.report``);
  ``public_key.pem``; then ``manifest.json`` and ``signature``.

Memory stays bounded by one alert and one PDF volume: rows are read with ``iterator()``, files are streamed, the
report is written fragment by fragment to work files, and only the file list (one small entry per file) is kept.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.text import get_valid_filename

from evidence import signing
from evidence.package import PackageIntegrityError, PackageWriter
from evidence.report import ReportUnavailable, ReportWriter
from facecase.files import sha256_of_path
from facecase.models import AuditEvent, Case
from facecase.roles import ROLE_ADMIN, ROLE_ANALYST, has_role, is_admin
from facecase.selectors import case_get_for_user, case_list_for_user
from facecase.services import audit_record
from footage.models import Alert, Footage, JobLogLine, Sighting
from suspects.models import Suspect

ALERT_SCOPES = ("confirmed", "all")
EXPORT_ROLES = (ROLE_ANALYST, ROLE_ADMIN)

# What each kind of digest in the package is a digest of (issue 18: a file's bytes vs a decoded pixel array).
HASH_DEFINITIONS = {
    "files[].sha256": "SHA-256 of the member's bytes exactly as stored in this zip (for originals: the upload).",
    "files[].recorded_sha256": "SHA-256 of the file's bytes that FaceCase recorded when it stored the file "
                               "(upload or analysis); equal to files[].sha256 or the export is refused.",
    "enhancement records input_sha256 / output_sha256": "enhancement.provenance.image_sha256: SHA-256 of "
        "'(H, W, 3)|uint8|' followed by the decoded pixel buffer (BGR, row-major), not of any file encoding. "
        "Decode raw.png / enhanced.png losslessly to compare.",
    "registry gallery_sha256": "SHA-256 of the registry's gallery.npz file bytes.",
    "weights_sha256": "SHA-256 of the weights file bytes (weights/manifest.json).",
}
CLIP_CONTENT = ("WebM (VP8): the frames the camera runner analysed, 480 px wide, from about 3 s before the first "
                "match to about 3 s after it; made from the live stream at the time (the stream itself is not kept)")
PROBE_EMBEDDERS = {
    "student": "degradation-robust student: dlib's ResNet fine-tuned so that a blurred, small, dark or compressed face "
               "lands where dlib places the clean face (weights/embedder_student.weights.h5, model card beside it); "
               "it decided this match",
    "teacher": "dlib ResNet face descriptor on the enhanced crop; it decided this match",
}
EMBEDDERS = {
    "tf": "dlib ResNet face descriptor (128-d, dlib_face_recognition_resnet_model_v1) run in TensorFlow "
          "(enhancement.embed_tf; descriptors within 1e-6 of dlib's)",
    "dlib": "dlib ResNet face descriptor (128-d, dlib_face_recognition_resnet_model_v1)",
}


class ExportRefused(Exception):
    """The package was not written; the message says why (e.g. an original no longer matches its SHA-256)."""


@dataclass
class ExportResult:
    name: str  # in private storage
    path: Path
    sha256: str
    size: int
    filename: str
    manifest_sha256: str
    counts: dict[str, int] = field(default_factory=dict)
    audit_event_id: int | None = None


# --- who may export what -----------------------------------------------------------------------------------------


def case_get_for_export(user: Any, case_id: int) -> Case | None:
    """Analysts and admins export the cases they may see; the package holds the case's original footage."""
    return case_get_for_user(user, case_id) if has_role(user, *EXPORT_ROLES) else None


def alert_get_for_export(user: Any, alert_id: int) -> Alert | None:
    """An alert is exported with its original footage, so only someone who may see its case may export it
    (an operator who reviews alerts but is not on the case gets the same 404 as for an alert that does not exist)."""
    if not has_role(user, *EXPORT_ROLES):
        return None
    alerts = Alert.objects.all()
    if not is_admin(user):
        cases = case_list_for_user(user)
        alerts = alerts.filter(Q(footage__case__in=cases) | Q(footage__isnull=True, camera__case__in=cases))
    return alerts.filter(pk=alert_id).select_related("footage__case", "camera__case").first()


def alert_case(alert: Alert) -> Case | None:
    """The case an alert belongs to: its footage's, or for a camera alert the case its camera is attached to."""
    if alert.footage is not None:
        return alert.footage.case
    return alert.camera.case if alert.camera is not None else None


# --- small helpers -----------------------------------------------------------------------------------------------


@cache
def facecase_version() -> dict[str, Any]:
    """The git commit of the running code, and whether tracked files differ from it."""
    root = Path(settings.BASE_DIR)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "modified": None}
    return {"git_commit": commit, "modified": dirty}


def _user(user: Any) -> str:
    return user.get_username() if user is not None and getattr(user, "is_authenticated", False) else ""


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _safe(name: str) -> str:
    return (get_valid_filename(Path(name or "file").name) or "file")[-120:]


def _candidate_for(sighting: Sighting | None, suspect_id: int) -> dict[str, Any]:
    for entry in (sighting.top_candidates if sighting else None) or []:
        if isinstance(entry, dict) and entry.get("suspect_id") == suspect_id:
            return entry
    return {}


def _analysis(footage: Footage | None) -> dict[str, Any]:
    state = (footage.analysis_state if footage else None) or {}
    config = state.get("config") or {}
    return {"threshold": config.get("threshold"), "threshold_basis": state.get("threshold_basis", ""),
            "embed_backend": config.get("embed_backend"), "registry_version": state.get("registry_version"),
            "config": config}


def score_in_words(alert: Alert, match: dict[str, Any]) -> list[str]:
    """The scores of an alert as sentences a court can follow."""
    name, threshold, basis = alert.suspect.name, match.get("threshold"), match.get("threshold_basis")
    distance, raw_distance = match.get("distance"), match.get("raw_distance")
    lines = []
    if distance is not None and threshold is not None:
        lines.append(f"The face found in the footage is at distance {distance:.3f} from {name}'s enrolled photos "
                     f"(0 = identical descriptors). FaceCase raises an alert below {threshold:.3f}"
                     f"{': ' + basis if basis else ''}.")
    if match.get("view") == "averaged chip":
        lines.append("That distance was brought down by an average of the track's best frames: their aligned face "
                     "images were registered to one another and averaged (arithmetic, no AI reconstruction) and the "
                     "average was described once. The track's best single frames, combined, were further away; the "
                     "average may only lower the distance of the person those frames were already nearest to, and "
                     "by a bounded amount.")
    lines.append(f"On the reviewers' display scale, where 50 % is exactly the alert threshold and higher is closer, "
                 f"the match scored {alert.score * 100:.0f} %. This is a display aid, not a probability.")
    if alert.embedder == "student":
        teacher = f"{alert.teacher_score * 100:.0f} %" if alert.teacher_score is not None else "not ranked"
        lines.append("That score is the degradation-robust embedder's, which reads the raw crop and was trained to "
                     "recognise blurred, small, dark and compressed faces. The standard embedder scored the enhanced "
                     f"crop {teacher}.")
    if alert.raw_score is not None:
        raw = f"{alert.raw_score * 100:.0f} %" + (f" (distance {raw_distance:.3f})" if raw_distance is not None else "")
        if alert.holds_on_raw:
            lines.append(f"The unenhanced (raw) crop alone scored {raw}: the match holds without enhancement.")
        else:
            lines.append(f"The unenhanced (raw) crop alone scored {raw}: the match depends on the enhancement and "
                         "should be weighed with care.")
    else:
        lines.append("The raw crop was not close enough to rank this suspect among its candidates.")
    return lines


def _box_css(sighting: Sighting | None, footage: Footage | None) -> str:
    """Where the face box lies on the full frame, in percent, for the report's red outline."""
    try:
        x, y, w, h = (float(v) for v in sighting.box)
        width, height = float(footage.width), float(footage.height)
    except (AttributeError, TypeError, ValueError):
        return ""
    if width <= 0 or height <= 0:
        return ""
    return (f"left: {100 * x / width:.2f}%; top: {100 * y / height:.2f}%; width: {100 * w / width:.2f}%; "
            f"height: {100 * h / height:.2f}%")


def _camera(alert: Alert) -> dict[str, Any] | None:
    """The camera that raised an alert, its source with any credentials masked (never the stored URL)."""
    if alert.footage_id is not None:
        return None
    camera = alert.camera
    if camera is None:
        return {"id": None, "name": alert.camera_name, "note": "the camera has been removed from FaceCase since"}
    return {"id": camera.pk, "name": alert.camera_name or camera.name, "location": camera.location,
            "source": camera.masked_url, "source_kind": camera.source_kind}


def _clip_note(alert: Alert, clip: dict[str, Any] | None) -> str:
    if alert.footage_id is not None:
        return "the source is uploaded footage: the original file is in originals/"
    if clip is not None:
        return (f"{clip['path']}: the frames the camera runner analysed around the first match, as stored at the "
                "time with the SHA-256 in sha256_at_capture (re-checked by this export)")
    return "no evidence clip was stored for this camera alert (the runner stopped before the clip was complete)"


def _chunks(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


# --- the build ---------------------------------------------------------------------------------------------------


class _Build:
    def __init__(self, *, actor: Any, via: str, covers: dict[str, Any], work: Path, target: Path) -> None:
        self.actor, self.via, self.covers = actor, via, covers
        self.work = work
        self.pkg = PackageWriter(target)
        self.report = ReportWriter(work, covers["alert_count"])
        self.images: dict[str, Path] = {}  # package path -> file on disk, for the PDF renderer
        self.ids: dict[str, set[int]] = {k: set() for k in
                                         ("facecase.case", "footage.footage", "footage.sighting", "footage.alert",
                                          "suspects.suspect", "suspects.suspectphoto", "suspects.registryversion",
                                          "cameras.camera")}
        self.exported_at = timezone.now()
        self.key = signing.public_key_info()

    # files
    def image(self, arcname: str, path: Path, *, kind: str, expected: str | None = None) -> str:
        self.pkg.add_file(arcname, path, kind=kind, expected_sha256=expected or None)
        self.images[arcname] = path
        return arcname

    def footage(self, footage: Footage) -> dict[str, Any]:
        folder = f"footage/footage-{footage.pk}"
        original = f"originals/footage-{footage.pk}/{_safe(footage.original_name)}"
        if not self.pkg.has(original):
            self.ids["footage.footage"].add(footage.pk)
            try:
                self.pkg.add_file(original, Path(footage.original.path), kind="original",
                                  expected_sha256=footage.sha256)
            except FileNotFoundError as exc:
                raise ExportRefused(f"footage {footage.pk} ({footage.original_name}): the original file is missing "
                                    "from storage") from exc
            analysis = _analysis(footage)
            self.pkg.add_json(f"{folder}/footage.json", {
                "id": footage.pk, "case": footage.case_id, "original": original, "original_name": footage.original_name,
                "sha256_at_upload": footage.sha256, "size": footage.size, "content_type": footage.content_type,
                "kind": footage.kind, "width": footage.width, "height": footage.height, "fps": footage.fps,
                "frame_count": footage.frame_count, "duration_s": footage.duration,
                "uploaded_by": footage.uploaded_by.get_username(), "uploaded_at": _iso(footage.created_at),
                "analysis": {"status": footage.status, "started_at": _iso(footage.started_at),
                             "finished_at": _iso(footage.finished_at), **analysis},
            }, kind="record")
            lines = (json.dumps({"seq": line.seq, "level": line.level, "at": _iso(line.created_at),
                                 "message": line.message}, ensure_ascii=False)
                     for line in JobLogLine.objects.filter(footage=footage).order_by("seq").iterator(chunk_size=500))
            self.pkg.add_bytes(f"{folder}/job_log.jsonl", "".join(f"{line}\n" for line in lines).encode(),
                               kind="record")
        return {"original": original, "record": f"{folder}/footage.json"}

    def sighting(self, sighting: Sighting) -> dict[str, Any]:
        from footage.derived import FrameUnavailable, sighting_frame_path

        folder = f"sightings/sighting-{sighting.pk}"
        paths: dict[str, Any] = {"folder": folder, "record": f"{folder}/sighting.json",
                                 "enhancement": f"{folder}/enhancement.json"}
        if self.pkg.has(paths["record"]):
            return self._sighting_paths(sighting, folder)
        self.ids["footage.sighting"].add(sighting.pk)
        storage = sighting.raw_crop.storage
        frame_note = ""
        try:
            frame = sighting_frame_path(sighting)
            paths["frame"] = self.image(f"{folder}/frame{frame.suffix}", frame, kind="frame")
        except FrameUnavailable as exc:
            frame_note = str(exc)
        if sighting.raw_crop:
            paths["raw"] = self.image(f"{folder}/raw.png", Path(sighting.raw_crop.path), kind="raw_crop",
                                      expected=sighting.raw_crop_sha256)
        if sighting.enhanced_crop:
            paths["enhanced"] = self.image(f"{folder}/enhanced.png", Path(sighting.enhanced_crop.path),
                                           kind="enhanced_crop", expected=sighting.enhanced_crop_sha256)
        if sighting.averaged_chip:
            paths["averaged"] = self.image(f"{folder}/averaged.png", Path(sighting.averaged_chip.path),
                                           kind="averaged_chip", expected=sighting.averaged_chip_sha256)
        track = []
        for entry in sighting.track_frames or []:
            if not isinstance(entry, dict):
                continue
            row = {k: entry.get(k) for k in ("frame", "ts", "box", "rank", "quality", "weight")}
            name = str(entry.get("crop") or "")
            if name and storage.exists(name):
                row["crop"] = f"{folder}/track/frame-{entry.get('frame')}.png"
                self.pkg.add_file(row["crop"], Path(storage.path(name)), kind="track_crop",
                                  expected_sha256=entry.get("crop_sha256") or None)
                row["records"] = entry.get("records") or []
            track.append(row)
        self.pkg.add_json(paths["enhancement"], {
            "raw_crop": paths.get("raw"), "enhanced_crop": paths.get("enhanced"),
            "ai_enhanced": sighting.ai_enhanced, "steps": [r.get("step") for r in sighting.enhancement_records or []
                                                           if isinstance(r, dict)],
            "records": sighting.enhancement_records or [],
            "hash_of_records": "pixels: enhancement.provenance.image_sha256 (see manifest hash_definitions)",
            "track_crops": [{"crop": r["crop"], "records": r.get("records", [])} for r in track if r.get("crop")],
            "averaged_chip": {"image": paths["averaged"], "sha256": sighting.averaged_chip_sha256,
                              "record": sighting.averaged_chip_record,
                              "note": "a computed image, not a photograph: the raw crops of these frames aligned to "
                                      "the embedder's chip by their landmarks, registered by translation and averaged "
                                      "with quality weights; the matcher embedded it as one more view of the track"}
            if paths.get("averaged") else None,
        }, kind="record")
        version = sighting.registry_version
        if version is not None:
            self.ids["suspects.registryversion"].add(version.pk)
        self.pkg.add_json(paths["record"], {
            "id": sighting.pk, "footage": sighting.footage_id, "track_id": sighting.track_id,
            "first_frame": sighting.first_frame, "last_frame": sighting.last_frame, "first_ts": sighting.first_ts,
            "last_ts": sighting.last_ts, "best_frame_index": sighting.best_frame_index,
            "box_xywh": sighting.box, "frame": paths.get("frame"), "frame_note": frame_note,
            "frame_hash_note": "the full frame is derived (decoded from the original at the best frame and JPEG-"
                               "encoded); FaceCase records no earlier digest for it",
            "raw_crop": paths.get("raw"), "raw_crop_sha256": sighting.raw_crop_sha256,
            "enhanced_crop": paths.get("enhanced"), "enhanced_crop_sha256": sighting.enhanced_crop_sha256,
            "averaged_chip": paths.get("averaged"), "averaged_chip_sha256": sighting.averaged_chip_sha256 or None,
            "ai_enhanced": sighting.ai_enhanced, "enhancement": paths["enhancement"],
            "raw_scores": sighting.raw_scores, "enhanced_scores": sighting.enhanced_scores,
            "student_scores": sighting.student_scores, "probe_embedder": sighting.probe_embedder,
            "top_candidates": sighting.top_candidates,
            "registry_version": version.number if version else None,
            "gallery_sha256": version.gallery_sha256 if version else None, "track_frames": track,
            "created_at": _iso(sighting.created_at),
        }, kind="record")
        return paths

    def _sighting_paths(self, sighting: Sighting, folder: str) -> dict[str, Any]:
        found = {"folder": folder, "record": f"{folder}/sighting.json", "enhancement": f"{folder}/enhancement.json"}
        for key, name in (("raw", "raw.png"), ("enhanced", "enhanced.png"), ("averaged", "averaged.png"),
                          ("frame", "frame.jpg")):
            if self.pkg.has(f"{folder}/{name}"):
                found[key] = f"{folder}/{name}"
        return found

    def suspect(self, suspect: Suspect) -> dict[str, Any]:
        folder = f"suspects/suspect-{suspect.pk}"
        record = f"{folder}/suspect.json"
        photos = []
        for photo in suspect.photos.order_by("id"):
            arcname = f"{folder}/photo-{photo.pk}{Path(photo.image.name).suffix.lower() or '.img'}"
            if not self.pkg.has(record):
                self.image(arcname, Path(photo.image.path), kind="suspect_photo", expected=photo.sha256)
                self.ids["suspects.suspectphoto"].add(photo.pk)
            photos.append({"id": photo.pk, "path": arcname, "sha256_at_upload": photo.sha256,
                           "original_name": photo.original_name, "face_box": photo.face_box,
                           "embedder": photo.embedder})
        if not self.pkg.has(record):
            self.ids["suspects.suspect"].add(suspect.pk)
            self.pkg.add_json(record, {"id": suspect.pk, "name": suspect.name, "external_id": suspect.external_id,
                                       "status": suspect.status, "photos": photos}, kind="record")
        return {"record": record, "photos": [p["path"] for p in photos]}

    def alert(self, alert: Alert) -> dict[str, Any]:
        self.ids["footage.alert"].add(alert.pk)
        footage = self.footage(alert.footage) if alert.footage else None
        sighting = self.sighting(alert.sighting) if alert.sighting else None
        suspect = self.suspect(alert.suspect)
        analysis = _analysis(alert.footage)
        candidate = _candidate_for(alert.sighting, alert.suspect_id)
        version = alert.registry_version
        if version is not None:
            self.ids["suspects.registryversion"].add(version.pk)
        match = {
            "score": alert.score, "raw_score": alert.raw_score, "holds_on_raw": alert.holds_on_raw,
            "enhanced_score": alert.teacher_score if alert.embedder == "student" else alert.score,
            "probe_embedder": alert.embedder,
            "probe_embedder_description": PROBE_EMBEDDERS.get(alert.embedder, alert.embedder),
            "distance": candidate.get("distance"), "raw_distance": candidate.get("raw_distance"),
            "view": candidate.get("view"),
            "threshold": analysis["threshold"], "threshold_basis": analysis["threshold_basis"],
            "score_definition": "score = 1 / (1 + exp((distance - threshold) / scale)): 0.5 at the threshold; "
                                "a display aid, not a probability (enhancement/match.py)",
            "registry_version": version.number if version else None,
            "gallery_sha256": version.gallery_sha256 if version else None,
            "registry_suspects": version.suspect_count if version else None,
            "embedder": EMBEDDERS.get(analysis["embed_backend"] or "", analysis["embed_backend"]),
            "gallery_embedder": "dlib ResNet face descriptor of the enrolled photos (the teacher)",
        }
        history = [{"at": _iso(e.created_at), "by": e.actor_username, "from": e.details.get("from"),
                    "to": e.details.get("to"), "note": e.details.get("note", ""), "override": e.verb != "review"}
                   for e in AuditEvent.objects.filter(object_type="footage.alert", object_id=str(alert.pk),
                                                      verb__in=("review", "review_override"))
                   .order_by("created_at", "id")]
        clip = self.clip(alert)
        record = f"alerts/alert-{alert.pk}/alert.json"
        words = score_in_words(alert, match)
        box_css = _box_css(alert.sighting, alert.footage)
        self.pkg.add_json(record, {
            "id": alert.pk, "created_at": _iso(alert.created_at), "status": alert.status,
            "suspect": {"id": alert.suspect_id, "name": alert.suspect.name, "external_id": alert.suspect.external_id,
                        "status": alert.suspect.status, "record": suspect["record"]},
            "footage": alert.footage_id, "camera_name": alert.camera_name, "sighting": alert.sighting_id,
            "files": {"original": footage["original"] if footage else None,
                      "sighting": sighting["record"] if sighting else None},
            "camera": _camera(alert),
            "captured_at": _iso(alert.captured_at),
            "evidence_clip": clip,
            "evidence_clip_note": _clip_note(alert, clip),
            "match": match, "words": words,
            "review": {"decision": alert.status, "by": alert.reviewed_by.get_username() if alert.reviewed_by else None,
                       "at": _iso(alert.reviewed_at), "note": alert.review_note, "history": history},
        }, kind="record")
        return {"record": record, "footage": footage, "sighting": sighting, "suspect": suspect, "match": match,
                "history": history, "alert_words": words, "box_css": box_css, "clip": clip}

    def clip(self, alert: Alert) -> dict[str, Any] | None:
        """A camera alert's evidence clip, streamed into the package; its recorded SHA-256 is checked while copying
        (a mismatch refuses the export, as for originals)."""
        if not alert.clip:
            return None
        if alert.camera_id is not None:
            self.ids["cameras.camera"].add(alert.camera_id)
        arcname = f"alerts/alert-{alert.pk}/clip{Path(alert.clip.name).suffix.lower() or '.webm'}"
        entry = self.pkg.add_file(arcname, Path(alert.clip.path), kind="evidence_clip",
                                  expected_sha256=alert.clip_sha256 or None)
        return {"path": arcname, "size": entry.size, "sha256": entry.sha256,
                "sha256_at_capture": alert.clip_sha256 or None,
                "started_at": _iso(alert.clip_started_at), "ended_at": _iso(alert.clip_ended_at),
                "clock": "the camera runner's wall clock (UTC) when each frame was received",
                "content": CLIP_CONTENT}

    # report
    @staticmethod
    def render(template: str, context: dict[str, Any]) -> str:
        from django.template.loader import render_to_string

        return render_to_string(template, context)

    def audit_trail(self) -> None:
        query = Q(pk__in=[])
        for object_type, ids in self.ids.items():
            for chunk in _chunks(sorted(ids)):
                query |= Q(object_type=object_type, object_id__in=[str(i) for i in chunk])
        path = self.work / "audit_trail.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            for event in AuditEvent.objects.filter(query).order_by("created_at", "id").iterator(chunk_size=1000):
                out.write(json.dumps({"id": event.pk, "at": _iso(event.created_at), "actor": event.actor_username,
                                      "verb": event.verb, "object_type": event.object_type,
                                      "object_id": event.object_id, "details": event.details},
                                     ensure_ascii=False, default=str) + "\n")
        self.pkg.add_file("audit/audit_trail.jsonl", path, kind="audit")

    def finish(self, meta: dict[str, Any]) -> bytes:
        self.pkg.add_file("report.html", self.report.html(), kind="report")
        for name, pdf in self.report.pdfs(self.images):
            self.pkg.add_file(name, pdf, kind="report")
        self.pkg.add_bytes("public_key.pem", self.key.pem.encode(), kind="public_key")
        return self.pkg.finish(meta, signing.sign)


def _export(*, actor: Any, via: str, covers: dict[str, Any], obj: Any, folder: str, stem: str,
            case: Case | None, alerts: QuerySet[Alert], footage: QuerySet[Footage]) -> ExportResult:
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    out_dir = root / "exports" / folder
    out_dir.mkdir(parents=True, exist_ok=True)
    work = root / "exports" / f".work-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    filename = f"{_safe(stem)}-{stamp}-{uuid.uuid4().hex[:6]}.zip"
    part = out_dir / f"{filename}.part"
    build = None
    try:
        build = _Build(actor=actor, via=via, covers=covers, work=work, target=part)
        exported_by = {"username": _user(actor), "via": via}
        if not exported_by["username"]:
            exported_by["os_user"] = getpass.getuser()
        common = {"exported_at": build.exported_at, "exported_by": exported_by, "covers": covers,
                  "facecase_version": facecase_version(), "key_fingerprint": build.key.fingerprint}
        shown = {**common, "exporter": exported_by["username"] or exported_by["os_user"]}
        if case is not None:
            build.ids["facecase.case"].add(case.pk)
            build.pkg.add_json("case.json", {"id": case.pk, "reference": case.reference, "title": case.title,
                                             "description": case.description, "status": case.status,
                                             "created_by": case.created_by.get_username(),
                                             "created_at": _iso(case.created_at)}, kind="record")
        footage_rows = list(footage.select_related("uploaded_by").order_by("created_at", "id"))
        for row in footage_rows:
            build.footage(row)
        build.report.write_start(build.render("evidence/report_start.html", {
            **shown, "case": case, "footage_list": footage_rows, "alert_count": covers["alert_count"],
            "volumes": build.report.volumes}))
        count = 0
        rows = alerts.select_related("suspect", "footage__uploaded_by", "sighting__registry_version", "reviewed_by",
                                     "registry_version", "camera").order_by("created_at", "id")
        for alert in rows.iterator(chunk_size=200):
            count += 1
            parts = build.alert(alert)
            html = build.render("evidence/report_alert.html", {"alert": alert, "n": count, **parts, **shown})
            build.report.write_alert(count, html)
        build.audit_trail()
        build.report.write_end(build.render("evidence/report_end.html", {
            **shown, "hash_definitions": HASH_DEFINITIONS, "key": build.key}))
        signing_key = {"algorithm": "Ed25519", "public_key": build.key.raw_b64,
                       "fingerprint": build.key.fingerprint, "file": "public_key.pem"}
        manifest = build.finish({**common, "exported_at": build.exported_at.isoformat(), "signing_key": signing_key,
                                 "hash_definitions": HASH_DEFINITIONS})
        file_count = len(build.pkg.entries)
        digest = sha256_of_path(part)
        final = out_dir / filename
        part.replace(final)
    except BaseException as exc:
        if build is not None:
            build.pkg.close()
        part.unlink(missing_ok=True)
        if isinstance(exc, ReportUnavailable):
            raise ExportRefused(str(exc)) from exc
        if isinstance(exc, FileNotFoundError):
            audit_record(actor=actor, verb="integrity_failure", obj=obj,
                         details={"during": "export", "error": f"missing from storage: {exc.filename}"})
            raise ExportRefused(f"a stored evidence file is missing: {exc.filename}") from exc
        if isinstance(exc, PackageIntegrityError):
            audit_record(actor=actor, verb="integrity_failure", obj=obj,
                         details={"during": "export", "error": str(exc)})
            raise ExportRefused(str(exc)) from exc
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    final.chmod(0o600)
    result = ExportResult(name=str(final.relative_to(root)), path=final, sha256=digest, size=final.stat().st_size,
                          filename=filename, manifest_sha256=hashlib.sha256(manifest).hexdigest(),
                          counts={"alerts": count, "footage": len(footage_rows), "files": file_count})
    event = audit_record(actor=actor, verb="export", obj=obj, details={
        "package": result.name, "sha256": result.sha256, "size": result.size, "manifest_sha256":
        result.manifest_sha256, "covers": covers, "via": via, "key_fingerprint": build.key.fingerprint,
        **({"os_user": getpass.getuser()} if not _user(actor) else {})})
    result.audit_event_id = event.pk
    return result


def evidence_export_case(*, actor: Any, case: Case, alerts: str = "confirmed", via: str = "web") -> ExportResult:
    """The case's original footage, and its confirmed (or all) alerts with their sightings, as one signed zip."""
    if alerts not in ALERT_SCOPES:
        raise ValueError(f"alerts must be one of {ALERT_SCOPES}, not {alerts!r}")
    chosen = Alert.objects.filter(Q(footage__case=case) | Q(footage__isnull=True, camera__case=case))
    if alerts == "confirmed":
        chosen = chosen.filter(status=Alert.Status.CONFIRMED)
    ids = list(chosen.order_by("created_at", "id").values_list("pk", flat=True))
    covers = {"kind": "case", "case": {"id": case.pk, "reference": case.reference, "title": case.title},
              "alerts": alerts, "alert_count": len(ids), "alert_ids": ids,
              "footage_ids": list(Footage.objects.filter(case=case).order_by("pk").values_list("pk", flat=True))}
    # the alerts counted in ``covers`` are the ones exported, even if a review lands while the package is written
    return _export(actor=actor, via=via, covers=covers, obj=case, folder=f"case-{case.pk}", stem=case.reference,
                   case=case, alerts=Alert.objects.filter(pk__in=ids), footage=Footage.objects.filter(case=case))


def evidence_export_alert(*, actor: Any, alert: Alert, via: str = "web") -> ExportResult:
    """One alert: its footage's original, sighting, suspect, match, review and audit trail."""
    case = alert_case(alert)
    covers = {"kind": "alert", "alert": alert.pk, "alert_count": 1, "alert_ids": [alert.pk],
              "case": {"id": case.pk, "reference": case.reference, "title": case.title} if case else None,
              "footage_ids": [alert.footage_id] if alert.footage_id else []}
    return _export(actor=actor, via=via, covers=covers, obj=alert, folder=f"alert-{alert.pk}",
                   stem=f"{case.reference}-alert-{alert.pk}" if case else f"alert-{alert.pk}", case=case,
                   alerts=Alert.objects.filter(pk=alert.pk),
                   footage=Footage.objects.filter(pk=alert.footage_id) if alert.footage_id else Footage.objects.none())


def evidence_download_record(*, actor: Any, result: ExportResult, obj: Any, via: str) -> None:
    """Each hand-over of a package is its own audit event: who received which bytes (by SHA-256)."""
    audit_record(actor=actor, verb="download", obj=obj, details={"package": result.name, "sha256": result.sha256,
                                                                 "size": result.size, "via": via})

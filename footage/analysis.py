"""The analysis stage of the footage job: tracks -> Sightings (crops with sha256) -> Alerts pushed to operators.

``footage.processing.run_pipeline`` calls :func:`analyze_footage` after the probe, with progress 10..100 ours.
The pure pipeline is ``enhancement.analysis.analyze_video``; this module only stores what it finds.

Idempotent and resumable:
- a Sighting is keyed by (footage, stable track id) and an Alert by (sighting, suspect), both unique in the
  database, and each track is stored in one transaction: re-running never duplicates;
- every ``checkpoint_every_s`` of footage the pipeline hands over a snapshot of its state (open tracks, their best
  crops); it is written to private storage and its frame and sha256 kept in ``Footage.analysis_state`` (with the
  registry version and settings of the run) only after every track before it is stored, so a worker killed
  mid-video resumes from there, with the same registry, and finds the same tracks under the same ids.
Alerts: one per (track, suspect) for a match at or under the threshold to a suspect who is not cleared, unless an
operator already said "not this person" for that suspect about this track or about a track whose descriptor is
within ``SAME_PERSON_DISTANCE`` of it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import transaction

from enhancement.images import encode_png
from facecase.events import OPERATORS_GROUP, publish
from facecase.files import sha256_of_path, verified_path
from footage.jobs import DATABASE_GONE, JobReporter, ProcessingError
from footage.models import Alert, Footage, JobLogLine, Sighting
from footage.signals import sighting_stored
from suspects.models import RegistryVersion, Suspect

log = logging.getLogger(__name__)

PROGRESS_FROM = 10  # the probe used 0..10
# Two descriptors of one person under different light stay well inside this (dlib's same-person threshold is 0.6):
# a new track this close to one an operator rejected for a suspect is the same person and must not alert again.
SAME_PERSON_DISTANCE = 0.35


def configured_analysis(enrolled: int | None = None, overrides: dict[str, Any] | None = None) -> Any:
    """``AnalysisConfig`` with ``overrides`` (default: the ``FACECASE_ANALYSIS`` setting) applied and the alert
    thresholds for a gallery of ``enrolled`` identities (``footage.calibration``) where they are not set.
    Uploaded footage and live cameras both start from here. An unknown field is a configuration error, not
    something to drop silently (a misspelt setting would otherwise change nothing and say nothing)."""
    from enhancement.analysis import AnalysisConfig
    from footage.calibration import alert_threshold

    if overrides is None:
        overrides = dict(getattr(settings, "FACECASE_ANALYSIS", {}) or {})
    fields = AnalysisConfig.__dataclass_fields__
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ImproperlyConfigured(f"FACECASE_ANALYSIS: unknown analysis setting(s) {', '.join(unknown)}; "
                                   f"known: {', '.join(fields)}")
    config = AnalysisConfig(**overrides)
    if config.threshold is None:
        config.threshold = alert_threshold(enrolled)
    if config.probe_embedder == "student" and config.student_threshold is None:
        config.student_threshold = alert_threshold(enrolled, embedder="student")
    return config


def analysis_config(footage: Footage, enrolled: int | None = None) -> Any:
    """The configuration a footage's analysis runs with (``configured_analysis``); a resumed run keeps the settings
    it started with, or its track ids would not line up."""
    from enhancement.analysis import AnalysisConfig

    saved = (footage.analysis_state or {}).get("config")
    if saved:  # fields a later version no longer has are dropped: the run continues under today's code
        fields = AnalysisConfig.__dataclass_fields__
        return configured_analysis(enrolled, {k: v for k, v in saved.items() if k in fields})
    return configured_analysis(enrolled)


def label_suspects(labels: set[str]) -> dict[str, Suspect]:
    ids = [int(v) for v in labels if str(v).isdigit()]
    return {str(s.pk): s for s in Suspect.objects.filter(pk__in=ids)}


def _candidates(summary: Any, suspects: dict[str, Suspect], other: Any = None) -> list[dict[str, Any]]:
    rows = []
    other_by_label = {c["label"]: c for c in (other.candidates if other else [])}
    for c in summary.candidates:
        suspect = suspects.get(str(c["label"]))
        row = {"suspect_id": suspect.pk if suspect else None, "label": str(c["label"]),
               "name": suspect.name if suspect else None, "distance": c["distance"], "score": c["score"],
               "votes": c.get("votes"), "view": c.get("view")}
        if other is not None and c["label"] in other_by_label:
            row["raw_distance"] = other_by_label[c["label"]]["distance"]
            row["raw_score"] = other_by_label[c["label"]]["score"]
        rows.append(row)
    return rows


def _mean_vector(result: Any) -> np.ndarray | None:
    """The track's descriptor for face search and "not this person" memory: the weighted mean of the student's
    descriptors when the student ran (they sit where dlib puts the clean face), else of dlib's enhanced ones."""
    def best(c: Any) -> np.ndarray:
        if c.student_vector is not None:
            return c.student_vector
        return c.enhanced_vector if c.enhanced_vector is not None else c.raw_vector

    vectors = [(best(c), c.weight) for c in result.crops if c.raw_vector is not None]
    if not vectors:
        return None
    total = sum(w for _, w in vectors) or 1.0
    return (sum(v * w for v, w in vectors) / total).astype(np.float32)


def _dismissed_nearby(suspect: Suspect, vector: np.ndarray | None, sighting: Sighting) -> bool:
    """"Not this person" memory: this track, or one of the same person, was already rejected for this suspect."""
    rejected = Alert.objects.filter(suspect=suspect, status=Alert.Status.NOT_THIS_PERSON)
    if rejected.filter(sighting=sighting).exists():
        return True
    if vector is None:
        return False
    for blob in rejected.exclude(sighting__embedding=None).values_list("sighting__embedding", flat=True):
        other = np.frombuffer(bytes(blob), dtype=np.float32)
        if other.shape == vector.shape and float(np.linalg.norm(other - vector)) < SAME_PERSON_DISTANCE:
            return True
    return False


class _Store:
    """Turns each finished track into rows and files, one transaction per track."""

    def __init__(self, footage: Footage, reporter: Any, version: RegistryVersion | None) -> None:
        self.footage = footage
        self.reporter = reporter
        self.version = version
        self.alerts = 0
        self.sightings = 0
        self.skipped_noted: set[tuple[str, str]] = set()

    def track(self, result: Any) -> None:
        suspects = label_suspects(result.candidate_labels)
        existing = Sighting.objects.filter(footage=self.footage, track_id=result.track_id).first()
        with transaction.atomic():
            sighting = existing or self._sighting(result, suspects)
            created_alerts = self._alerts(sighting, result, suspects)
        for alert in created_alerts:
            payload = alert_payload(alert, sighting, footage_id=self.footage.pk, case_id=self.footage.case_id)
            transaction.on_commit(lambda p=payload: publish(OPERATORS_GROUP, "alert.created", p))
            self.reporter.log(f"ALERT {alert.suspect.name} ({alert.suspect.get_status_display()}) at "
                              f"{sighting.first_ts:.1f}-{sighting.last_ts:.1f} s, score {alert.score:.2f}"
                              f"{'' if alert.holds_on_raw else ' (only after enhancement)'}", JobLogLine.Level.WARNING)
        # The face-search index and unknown-person profiles take it in, last: a lost connection raised from there must
        # not cost the operators their live alerts. Sent again for a track a resumed job meets already stored: the
        # run that stored it may have lost its database before the receivers ran (they do nothing twice).
        transaction.on_commit(lambda pk=sighting.pk: _announce_stored(pk))

    def _note_skipped(self, skipped: dict[str, str]) -> None:
        """Say once per footage in the job log that a step the quality asked for could not run, and why."""
        key = (skipped["step"], skipped["reason"])
        if key not in self.skipped_noted:
            self.skipped_noted.add(key)
            self.reporter.log(f"enhancement step {skipped['step']} skipped: {skipped['reason']}",
                              JobLogLine.Level.WARNING)

    def _sighting(self, result: Any, suspects: dict[str, Suspect]) -> Sighting:
        sighting, skipped = build_sighting(result, suspects, self.version, footage=self.footage,
                                           track_id=result.track_id, first_ts=result.timestamps[0],
                                           last_ts=result.timestamps[-1])
        for step in skipped:
            self._note_skipped(step)
        self.sightings += 1
        return sighting

    def _alerts(self, sighting: Sighting, result: Any, suspects: dict[str, Suspect]) -> list[Alert]:
        alert = alert_for_track(sighting, result, suspects, self.version, self.reporter.log, footage=self.footage)
        if alert is None:
            return []
        self.alerts += 1
        return [alert]


def alert_payload(alert: Alert, sighting: Sighting, **source: Any) -> dict[str, Any]:
    """The ``alert.created`` event of a new alert; ``source``: the fields of its footage or camera."""
    return {"id": alert.pk, "suspect_id": alert.suspect_id, "suspect_name": alert.suspect.name,
            "score": alert.score, "raw_score": alert.raw_score, "holds_on_raw": alert.holds_on_raw,
            "embedder": alert.embedder, "teacher_score": alert.teacher_score, "sighting_id": sighting.pk,
            "first_ts": sighting.first_ts, "created_at": alert.created_at.isoformat(), **source}


def _announce_stored(sighting_id: int) -> None:
    """``sighting_stored`` to every receiver. A receiver's own failure does not stop the job (the hourly
    consolidation catches up), but a lost database connection does: a receiver's transaction drops the broken
    connection, so the job would go on, on a new one, without ever learning it; it goes back to the queue as it
    would anywhere else (footage.tasks)."""
    for _receiver, outcome in sighting_stored.send_robust(Sighting, sighting_id=sighting_id):
        if isinstance(outcome, DATABASE_GONE):
            raise outcome


def build_sighting(result: Any, suspects: dict[str, Suspect], version: RegistryVersion | None,
                   **owner: Any) -> tuple[Sighting, list[dict[str, str]]]:
    """A new Sighting for a track result (footage or camera in ``owner``, with its ``track_id`` and times), its
    best crops stored as PNG with their sha256, and the enhancement steps its crops had to skip. Shared by files
    and live cameras."""
    sighting = Sighting(registry_version=version, **owner)
    _clear_leftovers(sighting.raw_crop.storage, sighting.media_folder)
    skipped = sighting_apply_result(sighting, result, suspects)
    sighting.save()
    return sighting, skipped


def sighting_apply_result(sighting: Sighting, result: Any, suspects: dict[str, Suspect]) -> list[dict[str, str]]:
    """Set the sighting's crops, scores and frames from ``result`` (unsaved); returns the steps its crops skipped.
    A live track calls this again when later frames improved its best crops."""
    best = result.crops[0]
    decision = suspects.get(str(result.decision)) if result.decision else None
    summary = result.primary if result.primary.label else result.raw
    vector = _mean_vector(result)
    records = [r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in best.records]
    sighting.first_frame, sighting.last_frame = result.first_frame, result.last_frame
    sighting.box, sighting.best_frame_index = list(best.box), best.frame_index
    sighting.enhancement_records, sighting.ai_enhanced = records, best.ai_enhanced
    sighting.raw_scores = _candidates(result.raw, suspects)
    sighting.enhanced_scores = _candidates(result.enhanced, suspects)
    sighting.top_candidates = _candidates(result.primary, suspects, other=result.raw)
    sighting.student_scores = _candidates(result.student, suspects) if result.student is not None else []
    sighting.probe_embedder = result.embedder
    sighting.best_suspect, sighting.best_score = decision, summary.score if decision else None
    sighting.embedding = vector.tobytes() if vector is not None else None
    sighting.raw_crop.save("raw.png", ContentFile(encode_png(best.crop)), save=False)
    sighting.raw_crop_sha256 = sha256_of_path(sighting.raw_crop.path)
    enhanced = best.enhanced if best.enhanced is not None else best.crop
    sighting.enhanced_crop.save("enhanced.png", ContentFile(encode_png(enhanced)), save=False)
    sighting.enhanced_crop_sha256 = sha256_of_path(sighting.enhanced_crop.path)
    _apply_averaged_chip(sighting, getattr(result, "averaged", None))
    storage = sighting.raw_crop.storage
    kept, skipped = {}, []
    for rank, crop in enumerate(result.crops):
        name = storage.save(f"{sighting.media_folder}/frame-{crop.frame_index}.png",
                            ContentFile(encode_png(crop.crop)))
        kept[crop.frame_index] = {"crop": name, "crop_sha256": sha256_of_path(storage.path(name)), "rank": rank,
                                  "quality": crop.quality, "weight": crop.weight,
                                  "records": [r.to_dict() if hasattr(r, "to_dict") else dict(r)
                                              for r in crop.records], "skipped_steps": crop.skipped}
        skipped += crop.skipped
    sighting.track_frames = [{"frame": f, "ts": t, "box": list(b), **kept.get(f, {})}
                             for f, t, b in zip(result.frames, result.timestamps, result.boxes, strict=True)]
    return skipped


def _apply_averaged_chip(sighting: Sighting, averaged: Any) -> None:
    """Store the track's averaged chip (PNG, sha256, provenance record), or clear it when the result has none."""
    if averaged is None or averaged.image is None:
        sighting.averaged_chip, sighting.averaged_chip_sha256, sighting.averaged_chip_record = "", "", {}
        return
    sighting.averaged_chip.save("averaged.png", ContentFile(encode_png(averaged.image)), save=False)
    sighting.averaged_chip_sha256 = sha256_of_path(sighting.averaged_chip.path)
    sighting.averaged_chip_record = dict(averaged.record)


def alert_for_track(sighting: Sighting, result: Any, suspects: dict[str, Suspect], version: RegistryVersion | None,
                    say: Any, **source: Any) -> Alert | None:
    """The alert a matched track raises, at most one per (sighting, suspect): None for no decision, a cleared
    suspect, an alert that exists, or a face an operator already said is not this suspect. ``source``: the
    footage, or the camera fields."""
    label = result.decision
    suspect = suspects.get(str(label)) if label else None
    if suspect is None:
        return None
    if suspect.status == Suspect.Status.CLEARED:
        say(f"track {sighting.track_id} matches {suspect.name}, who is cleared: no alert")
        return None
    if Alert.objects.filter(sighting=sighting, suspect=suspect).exists():
        return None
    vector = np.frombuffer(bytes(sighting.embedding), np.float32) if sighting.embedding else None
    if _dismissed_nearby(suspect, vector, sighting):
        say(f"track {sighting.track_id} matches {suspect.name}, but an operator said 'not this person' for this "
            "face before: no alert")
        return None
    raw_row = next((c for c in result.raw.candidates if str(c["label"]) == str(label)), None)
    teacher_row = next((c for c in result.enhanced.candidates if str(c["label"]) == str(label)), None)
    return Alert.objects.create(
        sighting=sighting, suspect=suspect, score=float(result.primary.score),
        raw_score=float(raw_row["score"]) if raw_row else None, holds_on_raw=result.matched_raw,
        embedder=result.embedder, teacher_score=float(teacher_row["score"]) if teacher_row else None,
        registry_version=version, **source,
    )


def _log_pending_registry_changes(reporter: Any, version: RegistryVersion | None) -> None:
    """Say in the job log when registry changes were waiting to be built: people enrolled since the version this
    footage is matched against cannot raise alerts in this run."""
    from suspects.selectors import registry_status

    status = registry_status()
    pending, active = status["pending"], status["active_rebuild"]
    if not pending["pending"] and active is None:
        return
    what = f"{pending['photos_waiting']} photo(s) waiting to be enrolled" if pending["photos_waiting"] else (
        "suspect photos changed since the last build" if pending["gallery_outdated"] else "a rebuild in progress")
    basis = f"registry v{version.number}" if version else "an empty registry"
    reporter.log(f"registry changes were waiting to be built when this analysis started ({what}); faces are "
                 f"matched against {basis}: queue the footage again after the rebuild to match the new entries",
                 JobLogLine.Level.WARNING)


def analyze_footage(footage: Footage, reporter: JobReporter) -> dict[str, Any]:
    """Analyse one probed footage row; raises with a clear message when the file cannot be decoded at all."""
    from enhancement.analysis import CheckpointError, analyze_video
    from enhancement.video import DecodeError
    from suspects.gallery import current_gallery, load_gallery

    state = dict(footage.analysis_state or {})
    resume = _read_checkpoint(footage, state)
    if state.get("checkpoint") is not None and resume is None:
        reporter.log("the saved checkpoint is missing or altered: analysing from the start", JobLogLine.Level.WARNING)
    version: RegistryVersion | None = None
    if resume is not None and state.get("registry_version"):
        # A resumed run keeps the registry and settings it started with, or its results would not line up.
        version = RegistryVersion.objects.filter(number=state["registry_version"]).first()
    if version is not None:
        gallery = load_gallery(version)
    else:
        gallery, version = current_gallery()
    if resume is None:
        state.pop("config", None)
    footage.analysis_state = state
    enrolled = len(set(gallery.labels)) if gallery is not None else None
    config = analysis_config(footage, enrolled=enrolled)
    if gallery is None:
        reporter.log("the suspect registry is empty: faces are tracked and stored but nothing can match",
                     JobLogLine.Level.WARNING)
    else:
        reporter.log(f"matching against registry v{version.number} ({version.suspect_count} suspects, "
                     f"{version.photo_count} photos)")
    _log_pending_registry_changes(reporter, version)
    if resume is None or "threshold_basis" not in state:
        from footage.calibration import threshold_basis

        state["threshold_basis"] = threshold_basis(enrolled, embedder=config.probe_embedder)
    state.update({"registry_version": version.number if version else None, "config": config.to_dict()})
    Footage.objects.filter(pk=footage.pk).update(analysis_state=state)
    store = _Store(footage, reporter, version)

    reported = {"tenth": -1}

    def progress(p: Any) -> None:
        reporter.progress(PROGRESS_FROM + (100 - PROGRESS_FROM) * p.percent / 100)
        tenth = int(p.percent // 10)
        if tenth != reported["tenth"] and tenth < 10:  # a live log line every 10 %: frames, faces, tracks so far
            reported["tenth"] = tenth
            reporter.log(f"{p.percent:.0f}%: frame {p.frame_index + 1} of {p.frames_total}, {p.frames_analysed} "
                         f"analysed, {p.faces_found} face detections, {p.tracks_done} track(s) finished")

    def checkpoint(frame_index: int, blob: bytes) -> None:
        # Every track finished before this frame is already stored (on_track runs first): only now may a restart
        # skip to here. The file is replaced atomically and its digest kept with the frame index.
        name, digest = _write_checkpoint(footage, blob)
        state.update({"checkpoint": frame_index, "checkpoint_file": name, "checkpoint_sha256": digest})
        Footage.objects.filter(pk=footage.pk).update(analysis_state=state)

    def log_line(level: str, message: str) -> None:
        reporter.log(message, level if level in JobLogLine.Level.values else JobLogLine.Level.INFO)

    path = verified_path(footage.original, footage.sha256)
    run = {"gallery": gallery, "config": config, "progress_cb": progress, "log_cb": log_line,
           "on_track": store.track, "checkpoint_cb": checkpoint}
    try:
        try:
            result = analyze_video(path, resume_from=resume, **run)
        except CheckpointError as exc:
            # Stored tracks keep their ids, so starting over duplicates nothing; it only costs time.
            reporter.log(f"cannot resume ({exc}): analysing from the start", JobLogLine.Level.WARNING)
            result = analyze_video(path, resume_from=None, **run)
    except DecodeError as exc:
        raise ProcessingError(str(exc)) from exc
    state["finished"] = True
    for key in ("checkpoint", "checkpoint_file", "checkpoint_sha256"):
        state.pop(key, None)  # done: a later run of this footage starts from the beginning
    Sighting._meta.get_field("raw_crop").storage.delete(_checkpoint_name(footage))
    state["stopped_early"] = result.report.reason if result.report.stopped_early else ""
    Footage.objects.filter(pk=footage.pk).update(analysis_state=state)
    summary = {"tracks": len(result.tracks), "sightings_new": store.sightings, "alerts_new": store.alerts,
               "frames_analysed": result.frames_analysed, "registry_version": version.number if version else None,
               "stage_seconds": {k: round(v, 3) for k, v in result.stage_seconds.items()}}
    reporter.log(f"analysis: {summary['tracks']} track(s), {store.sightings} new sighting(s), {store.alerts} new "
                 f"alert(s); stage seconds {summary['stage_seconds']}")
    return summary


def _clear_leftovers(storage: Any, folder: str) -> None:
    """Files in a track's folder without its Sighting row were written by an attempt whose transaction never
    committed (worker killed, database connection lost): remove them so the new row is the only evidence there."""
    try:
        _, names = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        storage.delete(f"{folder}/{name}")


def _checkpoint_name(footage: Footage) -> str:
    return f"analysis/footage-{footage.pk}/checkpoint.pkl"


def _write_checkpoint(footage: Footage, blob: bytes) -> tuple[str, str]:
    import hashlib
    import os

    storage = Sighting._meta.get_field("raw_crop").storage
    name = _checkpoint_name(footage)
    final = Path(storage.path(name))
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_suffix(".part")
    part.write_bytes(blob)
    os.replace(part, final)
    return name, hashlib.sha256(blob).hexdigest()


def _read_checkpoint(footage: Footage, state: dict[str, Any]) -> bytes | None:
    """The saved snapshot, only if its digest is the one recorded (it is unpickled: never trust a changed file)."""
    import hashlib

    name, digest = state.get("checkpoint_file"), state.get("checkpoint_sha256")
    if not name or not digest:
        return None
    storage = Sighting._meta.get_field("raw_crop").storage
    path = Path(storage.path(name))
    if not path.exists():
        return None
    blob = path.read_bytes()
    return blob if hashlib.sha256(blob).hexdigest() == digest else None


"""The explanation heat-map of an alert: asked for on the review page, computed once in the worker, cached.

The cache is two files in private storage per alert and crop: ``explanations/alert-<id>/<crop-sha>.png`` and a
``.json`` record beside it (state, method, parameters, distances, the PNG's SHA-256). The record is written last,
so a half-written PNG is never reported ready; the PNG is re-hashed before every read, like every other piece of
evidence. A changed crop has a different SHA-256, hence a fresh explanation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from django.utils import timezone

from facecase.events import publish, user_group
from facecase.files import sha256_of_path
from facecase.services import audit_record
from facecase.storage import private_storage
from footage.models import Alert

logger = logging.getLogger(__name__)

METHOD = "occlusion"


def _crop_field(alert: Alert) -> tuple[str, Any, str] | None:
    """The crop the score was computed on: the enhanced crop when there is one, else the raw crop."""
    sighting = alert.sighting
    if sighting is None:
        return None
    if sighting.enhanced_crop:
        return "enhanced_crop", sighting.enhanced_crop, sighting.enhanced_crop_sha256
    if sighting.raw_crop:
        return "raw_crop", sighting.raw_crop, sighting.raw_crop_sha256
    return None


def _paths(alert: Alert) -> tuple[Path, Path] | None:
    crop = _crop_field(alert)
    if crop is None:
        return None
    key = (crop[2] or "nohash")[:16]
    folder = Path(private_storage().path(f"explanations/alert-{alert.pk}"))
    return folder / f"{METHOD}-{key}.png", folder / f"{METHOD}-{key}.json"


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _write_record(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(record, sort_keys=True))
    partial.replace(path)  # atomic: readers see the old record or the new one, never half of one


def explanation_state(alert: Alert) -> dict[str, Any] | None:
    """``None`` (nothing to explain: no crop), or the record with ``state`` none/queued/ready/failed."""
    paths = _paths(alert)
    if paths is None:
        return None
    record = _read_record(paths[1]) or {"state": "none"}
    if record.get("state") == "ready":
        record["url"] = f"/alerts/{alert.pk}/explain.png"
    return record


def explanation_request(*, actor: Any, alert: Alert) -> dict[str, Any] | None:
    """Queue the computation unless it is ready or already queued; the same request twice queues it once."""
    state = explanation_state(alert)
    if state is None or state["state"] in ("ready", "queued"):
        return state
    from django_q.tasks import async_task

    record = {"state": "queued", "requested_by": actor.get_username(), "requested_at": timezone.now().isoformat()}
    _write_record(_paths(alert)[1], record)
    try:
        async_task("footage.explanations.explain_alert_task", alert.pk, actor.pk,
                   task_name=f"explain-alert-{alert.pk}")
    except Exception as exc:  # the queue is unreachable: say so instead of "queued" forever; asking again retries
        logger.warning("could not queue the explanation of alert %s", alert.pk, exc_info=True)
        _write_record(_paths(alert)[1], {**record, "state": "failed",
                                         "error": f"could not be queued: {type(exc).__name__}: {exc}"})
    audit_record(actor=actor, verb="explain_request", obj=alert, details={"method": METHOD})
    return explanation_state(alert)


def verified_explanation_path(alert: Alert) -> Path | None:
    state = explanation_state(alert)
    paths = _paths(alert)
    if not state or state.get("state") != "ready" or paths is None or not paths[0].exists():
        return None
    if sha256_of_path(paths[0]) != state.get("sha256"):
        logger.error("explanation image of alert %s does not match its recorded SHA-256", alert.pk)
        return None
    return paths[0]


def _read_bgr(path: str) -> np.ndarray:
    from enhancement.imageio import decode_image

    return decode_image(path)  # upright, as enrolment read it; ImageDecodeError is a ValueError


def _suspect_vectors(alert: Alert, embed: Any, use_stored: bool) -> list[np.ndarray]:
    """The suspect's enrolled embeddings; photos not indexed yet are embedded here (on their face box if any)."""
    vectors = []
    for photo in alert.suspect.photos.all():
        if photo.embedding and use_stored:
            vectors.append(np.frombuffer(bytes(photo.embedding), dtype=np.float32))
        elif photo.image:
            from suspects.photo_enrolment import find_faces

            image = _read_bgr(photo.image.path)
            chosen = photo.face_box
            if isinstance(chosen, list | tuple) and len(chosen) == 4:
                box = tuple(int(v) for v in chosen)
            else:
                faces = find_faces(image)
                if len(faces) != 1:
                    continue  # enrolment would refuse this photo too
                box = tuple(int(v) for v in faces[0])
            vectors.append(np.asarray(embed(image, box), dtype=np.float32))
    return vectors


# Crops are stored with this margin around the face on every side (``enhancement.frames.crop_with_margin``).
CROP_MARGIN = 0.3


def _face_box_in_crop(crop: np.ndarray) -> tuple[int, int, int, int]:
    """The face inside a stored crop: detected when possible, else where the crop margin puts it."""
    from suspects.photo_enrolment import find_faces

    faces = find_faces(crop)
    if faces:
        return tuple(int(v) for v in faces[0])
    height, width = crop.shape[:2]
    share = CROP_MARGIN / (1 + 2 * CROP_MARGIN)
    inset_x, inset_y = int(width * share), int(height * share)
    return inset_x, inset_y, width - 2 * inset_x, height - 2 * inset_y


Embedder = Callable[[np.ndarray, "tuple[int, int, int, int] | None"], np.ndarray]


def _default_embed(image: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray:
    from enhancement.embed import embed_face

    return embed_face(image, box=box)


def compute_explanation(alert: Alert, embed: Embedder | None = None) -> dict[str, Any]:
    """Run the occlusion map on the alert's crop against the suspect's nearest enrolled photo and cache it.
    ``embed(image, box)`` defaults to the matcher's embedder, so the map explains the score the operator sees."""
    import cv2

    from enhancement.explain import occlusion_map, render_overlay

    embed = embed or _default_embed
    field_name, crop_file, crop_sha = _crop_field(alert)
    png_path, record_path = _paths(alert)
    crop = _read_bgr(crop_file.path)

    references = _suspect_vectors(alert, embed, use_stored=embed is _default_embed)
    if not references:
        raise ValueError("the suspect has no enrolled photo to compare with")
    face = _face_box_in_crop(crop)

    def distance(image: np.ndarray) -> float:
        # The box is found once on the untouched crop and kept: an occluded face must not be re-detected elsewhere.
        vector = np.asarray(embed(image, face), dtype=np.float32)
        return float(min(np.linalg.norm(vector - ref) for ref in references))

    result = occlusion_map(crop, distance)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(png_path), render_overlay(crop, result)):
        raise OSError(f"could not write {png_path}")
    record = {
        "state": "ready", "method": METHOD, "params": result.params, "crop": field_name, "crop_sha256": crop_sha,
        "base_distance": round(result.base_distance, 4), "max_increase": round(result.max_increase, 4),
        "max_decrease": round(result.max_decrease, 4), "evaluations": result.evaluations,
        "face_box": list(face), "sha256": sha256_of_path(png_path), "created_at": timezone.now().isoformat(),
    }
    _write_record(record_path, record)
    return record


def explain_alert_task(alert_id: int, requested_by: int | None = None) -> str:
    """django-q2 task. Idempotent: a ready explanation is not recomputed."""
    alert = Alert.objects.select_related("sighting", "suspect").filter(pk=alert_id).first()
    if alert is None or _paths(alert) is None:
        return "skipped"
    state = explanation_state(alert) or {}
    if state.get("state") == "ready":
        return "ready"
    try:
        record = compute_explanation(alert)
    except Exception as exc:
        logger.exception("explanation of alert %s failed", alert_id)
        record = {"state": "failed", "error": f"{type(exc).__name__}: {exc}", "created_at": timezone.now().isoformat()}
        _write_record(_paths(alert)[1], record)
    if requested_by:
        publish(user_group(requested_by), "alert.explained", {"id": alert.pk, "state": record["state"]})
    return record["state"]

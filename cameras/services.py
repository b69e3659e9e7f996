"""Audited writes of cameras (admins). Audit details show the source URL masked, never its credentials."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from cameras.models import Camera
from cameras.sources import SCHEMES, mask_url, source_kind
from facecase.services import audit_record

CAMERA_EDITABLE = ("name", "location", "source_url", "enabled", "analysis_fps", "detector", "min_face_px", "case")


def validate_source_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationError({"source_url": "a source URL, device or file path is required"})
    if "://" in url and url.split("://", 1)[0].lower() not in SCHEMES:
        raise ValidationError({"source_url": f"unsupported scheme; use one of {', '.join(SCHEMES)}, a device or a "
                                             "file path"})
    return url


def _check(camera: Camera) -> None:
    camera.source_url = validate_source_url(camera.source_url)
    if not 0.2 <= camera.analysis_fps <= 30:
        raise ValidationError({"analysis_fps": "between 0.2 and 30 frames per second"})
    if not 8 <= camera.min_face_px <= 512:
        raise ValidationError({"min_face_px": "between 8 and 512 pixels"})
    camera.full_clean()


def _shown(name: str, value: Any) -> Any:
    if name == "source_url":
        return mask_url(value)
    if name == "case":
        return value.reference if value is not None else None
    return value


@transaction.atomic
def camera_create(*, actor: Any, name: str, source_url: str, location: str = "", enabled: bool = True,
                  analysis_fps: float = 5.0, detector: str = Camera.Detector.HAAR, min_face_px: int = 20,
                  case: Any = None) -> Camera:
    camera = Camera(name=name.strip(), location=location.strip(), source_url=source_url, enabled=enabled,
                    analysis_fps=analysis_fps, detector=detector, min_face_px=min_face_px, case=case)
    _check(camera)
    camera.save()
    audit_record(actor=actor, verb="create", obj=camera,
                 details={"name": camera.name, "source": mask_url(camera.source_url), "kind": source_kind(source_url),
                          "enabled": camera.enabled, "case": _shown("case", camera.case)})
    return camera


@transaction.atomic
def camera_update(*, actor: Any, camera: Camera, **fields: Any) -> dict[str, Any]:
    """Change the given fields; the runner holding the camera restarts its reader with them within a second."""
    unknown = set(fields) - set(CAMERA_EDITABLE)
    if unknown:
        raise ValueError(f"cannot update camera fields {sorted(unknown)}")
    changes = {}
    for name, value in fields.items():
        old = getattr(camera, name)
        if name == "source_url":
            value = validate_source_url(value)
        if old != value:
            changes[name] = {"from": _shown(name, old), "to": _shown(name, value)}
            setattr(camera, name, value)
    if changes:
        _check(camera)
        camera.save()
        audit_record(actor=actor, verb="update", obj=camera, details={"changes": changes})
    return changes


@transaction.atomic
def camera_delete(*, actor: Any, camera: Camera) -> None:
    """Remove a camera; its runner stops reading it within a second. Its sightings go with it, its alerts stay
    (with the camera's name) because alerts are evidence."""
    details = {"name": camera.name, "source": mask_url(camera.source_url)}
    pk = camera.pk
    camera.alerts.update(camera_name=camera.name)
    camera.delete()
    audit_record(actor=actor, verb="delete", object_type="cameras.camera", object_id=pk, details=details)

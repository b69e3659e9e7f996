"""Who may see which camera: operators and admins every camera, analysts the cameras attached to their cases."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cameras.models import Camera
from facecase.roles import is_admin, is_operator
from facecase.selectors import case_list_for_user


def camera_list_for_user(user: Any) -> QuerySet[Camera]:
    cameras = Camera.objects.select_related("case")
    if is_admin(user) or is_operator(user):
        return cameras
    return cameras.filter(case__in=case_list_for_user(user))


def camera_get_for_user(user: Any, pk: int) -> Camera | None:
    return camera_list_for_user(user).filter(pk=pk).first()


def can_manage_cameras(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and is_admin(user))


def camera_last_alert(camera: Camera) -> Any:
    return camera.alerts.select_related("suspect").order_by("-created_at").first()


def camera_status(camera: Camera) -> dict[str, Any]:
    """What the wall shows of a camera (and the status endpoint returns): never the source URL's credentials."""
    alert = camera_last_alert(camera)
    return {
        "id": camera.pk, "name": camera.name, "location": camera.location, "enabled": camera.enabled,
        "health": camera.health, "reason": camera.health_reason, "fps_received": round(camera.fps_received, 2),
        "fps_analysed": round(camera.fps_analysed, 2),
        "lag_s": None if camera.lag_s is None else round(camera.lag_s, 3),
        "last_frame_at": camera.last_frame_at.isoformat() if camera.last_frame_at else None,
        "width": camera.frame_width, "height": camera.frame_height, "boxes": camera.last_boxes or [],
        "last_alert": None if alert is None else {
            "id": alert.pk, "suspect_name": alert.suspect.name, "score": alert.score,
            "captured_at": alert.captured_at.isoformat() if alert.captured_at else None},
    }

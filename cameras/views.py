"""The live wall (operators, admins; analysts see their cases' cameras), a camera's own view, its snapshot, and the
admins' camera forms. Thin: the reads are ``cameras.selectors``, the writes ``cameras.services``."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cameras.forms import CameraForm
from cameras.models import Camera
from cameras.runner import snapshot_name
from cameras.selectors import camera_get_for_user, camera_list_for_user, camera_status, can_manage_cameras
from cameras.services import camera_create, camera_delete, camera_update
from facecase.media import private_file_response
from facecase.roles import ROLE_ADMIN, ROLE_ANALYST, ROLE_OPERATOR
from facecase.storage import private_storage
from facecase.ui import role_required

WALL_ROLES = (ROLE_ADMIN, ROLE_OPERATOR, ROLE_ANALYST)


def _camera_or_404(request: HttpRequest, pk: int) -> Camera:
    camera = camera_get_for_user(request.user, pk)
    if camera is None:
        raise Http404("no such camera")
    return camera


@role_required(*WALL_ROLES)
@require_safe
def camera_wall(request: HttpRequest) -> HttpResponse:
    cameras = list(camera_list_for_user(request.user))
    return render(request, "cameras/wall.html", {
        "cameras": [(c, camera_status(c)) for c in cameras], "can_manage": can_manage_cameras(request.user)})


@role_required(*WALL_ROLES)
@require_safe
def camera_wall_status(request: HttpRequest) -> JsonResponse:
    """Every visible camera's health, lag and last alert: the wall polls this about once a second."""
    return JsonResponse({"cameras": [camera_status(c) for c in camera_list_for_user(request.user)]})


@role_required(*WALL_ROLES)
@require_safe
def camera_detail(request: HttpRequest, pk: int) -> HttpResponse:
    camera = _camera_or_404(request, pk)
    alerts = camera.alerts.select_related("suspect").order_by("-created_at")[:20]
    return render(request, "cameras/detail.html", {
        "camera": camera, "status": camera_status(camera), "alerts": alerts,
        "can_manage": can_manage_cameras(request.user)})


@role_required(*WALL_ROLES)
@require_safe
def camera_snapshot(request: HttpRequest, pk: int) -> HttpResponse:
    """The camera's latest analysed frame (``?boxes=1``: with the faces found on it drawn), at most ~1 s old."""
    camera = _camera_or_404(request, pk)
    path = Path(private_storage().path(snapshot_name(camera.pk, boxes=request.GET.get("boxes") == "1")))
    if not path.exists():
        raise Http404("no frame yet")
    return private_file_response(str(path), "image/jpeg")


def _form_fields(form: CameraForm) -> dict[str, object]:
    data = dict(form.cleaned_data)
    if not data.get("source_url"):
        data.pop("source_url", None)
    return data


@role_required(ROLE_ADMIN)
@require_http_methods(["GET", "POST"])
def camera_new(request: HttpRequest) -> HttpResponse:
    form = CameraForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            camera = camera_create(actor=request.user, **_form_fields(form))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Camera {camera.name} added; a runner picks it up within seconds.")
            return redirect("camera-detail", camera.pk)
    return render(request, "cameras/form.html", {"form": form, "camera": None}, status=400 if form.errors else 200)


@role_required(ROLE_ADMIN)
@require_http_methods(["GET", "POST"])
def camera_edit(request: HttpRequest, pk: int) -> HttpResponse:
    camera = _camera_or_404(request, pk)
    initial = {f: getattr(camera, f) for f in ("name", "location", "enabled", "analysis_fps", "detector",
                                               "min_face_px", "case")}
    form = CameraForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            camera_update(actor=request.user, camera=camera, **_form_fields(form))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Camera {camera.name} saved; its reader restarts with the new settings.")
            return redirect("camera-detail", camera.pk)
    return render(request, "cameras/form.html", {"form": form, "camera": camera}, status=400 if form.errors else 200)


@role_required(ROLE_ADMIN)
@require_POST
def camera_remove(request: HttpRequest, pk: int) -> HttpResponse:
    camera = _camera_or_404(request, pk)
    name = camera.name
    camera_delete(actor=request.user, camera=camera)
    messages.success(request, f"Camera {name} removed.")
    return redirect("camera-wall")

"""Admin pages of the suspect registry: list, create, edit (audited status changes), photos with an inline face
check, choosing the face in a photo with several, and bulk import from a zip; and what the core app's home page
shows of the registry (registered in ``SuspectsConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from facecase.roles import ROLE_ADMIN, is_admin
from facecase.ui import paginate, query_without_page, role_required
from suspects.bulk_import import suspect_import_zip
from suspects.face_check import FaceCheck, check_path
from suspects.forms import ImportForm, PhotoForm, SuspectForm, SuspectStatusNoteForm
from suspects.models import Suspect, SuspectPhoto
from suspects.selectors import (
    registry_status,
    registry_version_latest,
    suspect_count,
    suspect_get,
    suspect_photo_get,
)
from suspects.selectors import (
    suspect_list as suspect_list_query,
)
from suspects.services import (
    registry_rebuild_now,
    suspect_create,
    suspect_photo_add,
    suspect_photo_choose_face,
    suspect_photo_remove,
    suspect_update_with_reason,
)


def home_context(request: HttpRequest) -> dict[str, Any]:
    admin = is_admin(request.user)
    return {"suspect_count": suspect_count() if admin else None,
            "registry": registry_version_latest() if admin else None}


def _suspect_or_404(pk: int) -> Suspect:
    suspect = suspect_get(pk)
    if suspect is None:
        raise Http404("no such suspect")
    return suspect


@role_required(ROLE_ADMIN)
def suspect_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    return render(request, "suspects/list.html", {
        "page": paginate(request, suspect_list_query(query, status)), "query": query, "status": status,
        "statuses": Suspect.Status.choices, "filter_query": query_without_page(request), "registry": registry_status(),
    })


@role_required(ROLE_ADMIN)
@require_POST
def registry_rebuild_view(request: HttpRequest) -> HttpResponse:
    rebuild = registry_rebuild_now(actor=request.user)
    if rebuild.status == rebuild.Status.FAILED:
        messages.error(request, f"The rebuild could not be started: {rebuild.error}")
    else:
        messages.success(request, "Registry rebuild queued; this page shows when it is done.")
    return redirect("suspect-list")


def _add_photo(request: HttpRequest, suspect: Suspect, form: PhotoForm) -> SuspectPhoto | None:
    photo = form.cleaned_data.get("photo")
    if not photo:
        return None
    return suspect_photo_add(actor=request.user, suspect=suspect, upload=photo, check_face=True, choose_later=True)


def _after_photo(request: HttpRequest, photo: SuspectPhoto, check: FaceCheck | None) -> HttpResponse:
    if check is not None and check.count > 1:
        messages.warning(request, f"{check.count} faces found in {photo.original_name} — choose the suspect's face.")
        return redirect("suspect-photo-face", pk=photo.pk)
    messages.success(request, f"Photo {photo.original_name} added: one face found.")
    return redirect("suspect-detail", pk=photo.suspect_id)


@role_required(ROLE_ADMIN)
@require_http_methods(["GET", "POST"])
def suspect_new(request: HttpRequest) -> HttpResponse:
    form = SuspectForm(request.POST or None)
    photo_form = PhotoForm(request.POST or None, request.FILES or None, photo_required=False)
    if request.method == "POST" and form.is_valid() and photo_form.is_valid():
        try:
            with transaction.atomic():
                suspect = suspect_create(actor=request.user, **form.cleaned_data)
                photo = _add_photo(request, suspect, photo_form)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{suspect.name} added to the registry.")
            if photo is not None:
                return _after_photo(request, photo, photo_form.face_check)
            return redirect("suspect-detail", pk=suspect.pk)
    return render(request, "suspects/new.html", {"form": form, "photo_form": photo_form})


def _photo_rows(suspect: Suspect) -> list[dict[str, object]]:
    """Each photo with what the registry knows about its face: indexed, waiting, failed or ambiguous."""
    rows = []
    for photo in suspect.photos.all():
        if photo.index_error and not photo.face_box:
            check = check_path(photo.image.path) if photo.image.storage.exists(photo.image.name) else None
            several = check is not None and check.count > 1
            state, text = ("choose" if several else "error"), photo.index_error
        elif photo.index_error:
            state, text = "error", photo.index_error
        elif photo.embedding:
            state, text = "ok", "indexed"
        elif photo.face_box:
            state, text = "pending", "face chosen; waiting for the next reindex"
        else:
            readable = photo.image and photo.image.storage.exists(photo.image.name)
            check = check_path(photo.image.path) if readable else None
            if check is None:
                state, text = "error", "file missing or unreadable"
            elif check.count == 1:
                state, text = "pending", "one face; waiting for the next reindex"
            else:
                state, text = ("error" if check.count == 0 else "choose"), check.message
        rows.append({"photo": photo, "state": state, "text": text})
    return rows


@role_required(ROLE_ADMIN)
@require_http_methods(["GET", "POST"])
def suspect_detail(request: HttpRequest, pk: int, photo_form: PhotoForm | None = None) -> HttpResponse:
    suspect = _suspect_or_404(pk)
    form = SuspectForm(instance=suspect)
    reason_form = SuspectStatusNoteForm()
    if request.method == "POST":
        before = Suspect.objects.get(pk=suspect.pk)
        form = SuspectForm(request.POST, instance=Suspect.objects.get(pk=suspect.pk))
        reason_form = SuspectStatusNoteForm(request.POST)
        if form.is_valid() and reason_form.is_valid():
            suspect = suspect_update_with_reason(actor=request.user, suspect=before,
                                                 reason=reason_form.cleaned_data.get("reason", ""), **form.cleaned_data)
            messages.success(request, f"{suspect.name} saved.")
            return redirect("suspect-detail", pk=suspect.pk)
    return render(request, "suspects/detail.html", {
        "suspect": suspect, "form": form, "reason_form": reason_form,
        "photo_form": photo_form or PhotoForm(), "photos": _photo_rows(suspect),
        "alerts": suspect.alerts.select_related("footage").order_by("-created_at")[:10],
    })


@role_required(ROLE_ADMIN)
@require_POST
def suspect_photo_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    suspect = _suspect_or_404(pk)
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            photo = _add_photo(request, suspect, form)
        except ValidationError as exc:
            form.add_error("photo", exc)
        else:
            return _after_photo(request, photo, form.face_check)
    request.method = "GET"  # render the page with the photo form's errors in place
    return suspect_detail(request, pk=pk, photo_form=form)


@role_required(ROLE_ADMIN)
@require_POST
def suspect_photo_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    photo = suspect_photo_get(pk)
    if photo is None:
        raise Http404("no such photo")
    suspect_photo_remove(actor=request.user, photo=photo)
    messages.success(request, f"Photo {photo.original_name} removed. Reindex the registry to forget it.")
    return redirect("suspect-detail", pk=photo.suspect_id)


@role_required(ROLE_ADMIN)
@require_http_methods(["GET", "POST"])
def suspect_photo_face(request: HttpRequest, pk: int) -> HttpResponse:
    photo = suspect_photo_get(pk)
    if photo is None:
        raise Http404("no such photo")
    check = check_path(photo.image.path)
    faces = check.faces if check else []
    if request.method == "POST":
        choice = request.POST.get("face", "")
        if choice.isdigit() and int(choice) < len(faces):
            suspect_photo_choose_face(actor=request.user, photo=photo, box=list(faces[int(choice)]))
            messages.success(request, "Face chosen. The next reindex embeds that face.")
            return redirect("suspect-detail", pk=photo.suspect_id)
        messages.error(request, "Choose one of the faces shown.")
    boxes = [{"index": i, "left": 100 * f[0] / check.width, "top": 100 * f[1] / check.height,
              "width": 100 * f[2] / check.width, "height": 100 * f[3] / check.height}
             for i, f in enumerate(faces)] if check else []
    boxes.sort(key=lambda b: b["left"])  # numbered left to right as the admin reads the photo
    return render(request, "suspects/choose_face.html", {"photo": photo, "suspect": photo.suspect, "boxes": boxes})


@role_required(ROLE_ADMIN)
@require_http_methods(["GET", "POST"])
def suspect_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    summary = None
    if request.method == "POST" and form.is_valid():
        try:
            summary = suspect_import_zip(actor=request.user, upload=form.cleaned_data["archive"])
        except ValidationError as exc:
            form.add_error("archive", exc)
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "suspects/import.html", {"form": form, "summary": summary}, status=status)

"""Operator and analyst pages for footage, sightings and alerts: upload with live progress, the alert queue, the
review workspace (with the on-request explanation heat-map) and the search of sightings by suspect."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from facecase.extensions import page_context
from facecase.media import media_shown, private_file_response
from facecase.models import Case
from facecase.roles import CASE_ROLES, ROLE_ADMIN, ROLE_ANALYST, ROLE_OPERATOR, has_role, is_operator
from facecase.selectors import case_get_for_user
from facecase.services import audit_record
from facecase.storage import private_storage
from facecase.ui import paginate, query_without_page, role_required, wants_json
from facecase.upload_messages import upload_refusal_message
from footage import explanations
from footage.derived import FrameUnavailable, sighting_frame_path
from footage.forms import AlertFilterForm, FootageUploadForm
from footage.models import Alert, Footage, Sighting
from footage.provenance import provenance_chain
from footage.selectors import (
    ALERT_FILTERS,
    alert_cases_for_user,
    alert_get_for_user,
    alert_list_for_user,
    alert_queue_for_user,
    can_review,
    footage_get_for_user,
    footage_list_for_user,
    footage_log,
    sighting_list_for_user,
    sighting_search_for_user,
    sightings_for_case,
    sightings_for_footage,
    with_track_numbers,
)
from footage.services import alert_review as alert_review_service
from footage.services import alert_review_undo as alert_review_undo_service
from footage.services import ingest_from_request
from suspects.selectors import suspect_get, suspect_search, suspects_by_id

ALERT_ROLES = (ROLE_OPERATOR, ROLE_ADMIN, ROLE_ANALYST)
MAX_SUSPECT_MATCHES = 20
CASE_GALLERY_SIZE = 24


# --- what the core app's pages show of footage (registered in FootageConfig.ready) ----------------------------


def home_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {"new_alerts": alert_list_for_user(user).filter(status="new")[:10] if is_operator(user) else [],
            "recent_footage": footage_list_for_user(user)[:10]}


def case_page_context(request: HttpRequest, case: Case) -> dict[str, Any]:
    sightings = sightings_for_case(case.pk)
    alerts = alert_list_for_user(request.user).filter(Q(footage__case=case) | Q(camera__case=case))
    alerts = alerts.order_by("-created_at")
    return {
        "footage_list": Footage.objects.filter(case=case).select_related("uploaded_by").order_by("-created_at"),
        "sightings": sightings[:CASE_GALLERY_SIZE],
        "sighting_count": sightings.count(),
        "alerts": alerts[:20],
        "alert_count": alerts.count(),
        "alert_new_count": alerts.filter(status=Alert.Status.NEW).count(),
        "form": FootageUploadForm(),
        "can_upload": request.user.has_perm("footage.add_footage") and case.status == Case.Status.OPEN,
    }


def header_context(request: HttpRequest) -> dict[str, Any]:
    """The header's count of alerts waiting for review (the template tag shows it to operators and admins)."""
    return {"new_alert_count": Alert.objects.filter(status=Alert.Status.NEW).count()}


# --- analysts: upload, progress, sightings -------------------------------------------------------------------


@role_required(*CASE_ROLES)
@require_POST
def case_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """The upload form posts here; the page's script sends the same form by XHR (for its progress bar) and asks
    for JSON, so the browser can go straight to live analysis progress."""
    case = case_get_for_user(request.user, pk)
    if case is None or not request.user.has_perm("footage.add_footage"):
        raise Http404("no such case")
    error = None
    footage = None
    try:
        footage = ingest_from_request(request, case)
    except ValidationError as exc:
        upload = request.FILES.get("file")
        technical = " ".join(exc.messages)
        # The user reads what to do; the technical reason stays in the audit log for admins.
        audit_record(actor=request.user, verb="upload_refused", obj=case,
                     details={"file": upload.name if upload is not None else "", "code": exc.code or "",
                              "reason": technical})
        message = upload_refusal_message(exc.code, technical)
        error = f"Upload refused ({upload.name}): {message}" if upload is not None else f"Upload refused: {message}"
    if wants_json(request):
        if error:
            return JsonResponse({"error": error}, status=400)
        return JsonResponse({"id": footage.pk, "name": footage.original_name, "status": footage.status,
                             "url": f"/footage/{footage.pk}/"}, status=201)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{footage.original_name} uploaded and queued for processing.")
    return redirect("case-detail", pk=case.pk)


def _footage_or_404(request: HttpRequest, pk: int) -> Footage:
    footage = footage_get_for_user(request.user, pk) if has_role(request.user, *CASE_ROLES) else None
    if footage is None:
        raise Http404("no such footage")
    return footage


FOOTAGE_GALLERY_SIZE = 48


def _footage_results(footage: Footage) -> dict[str, Any]:
    sightings = sightings_for_footage(footage.pk)
    return {"footage": footage, "sightings": sightings[:FOOTAGE_GALLERY_SIZE], "sighting_count": sightings.count()}


@role_required(*CASE_ROLES)
def footage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    footage = _footage_or_404(request, pk)
    return render(request, "footage/detail.html", {**_footage_results(footage), "log_lines": footage_log(footage)})


@role_required(*CASE_ROLES)
@require_safe
def footage_results(request: HttpRequest, pk: int) -> HttpResponse:
    """The footage page's metadata and sighting tiles, fetched by the page as the analysis stores sightings and
    when it ends, so the results appear without a reload."""
    footage = _footage_or_404(request, pk)
    return render(request, "footage/_results.html", _footage_results(footage))


@role_required(*CASE_ROLES)
@require_safe
def footage_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Status, progress and new log lines (after ``?after=<seq>``): the page polls this only while its
    WebSocket is down, so progress still moves behind a proxy that drops WebSockets."""
    footage = _footage_or_404(request, pk)
    after = int(request.GET.get("after", "0") or 0)
    lines = [
        {"seq": line.seq, "level": line.level, "message": line.message, "created_at": line.created_at.isoformat()}
        for line in footage_log(footage, after_seq=after)[:500]
    ]
    return JsonResponse({"id": footage.pk, "status": footage.status, "progress": footage.progress,
                         "error": footage.error, "log": lines})


@role_required(*CASE_ROLES)
def sighting_search(request: HttpRequest) -> HttpResponse:
    """Search by a suspect's name or external id; several matches are offered as a choice, one is shown."""
    suspect_id = request.GET.get("suspect", "")
    query = request.GET.get("q", "").strip()
    suspect, matches = None, []
    if suspect_id.isdigit():
        suspect = suspect_get(int(suspect_id))
    elif query:
        matches = list(suspect_search(query)[:MAX_SUSPECT_MATCHES + 1])
        if len(matches) == 1:
            suspect, matches = matches[0], []
    sightings = sighting_search_for_user(request.user, suspect.pk if suspect else None)
    return render(request, "sightings/search.html", {
        "suspect": suspect, "matches": matches[:MAX_SUSPECT_MATCHES],
        "more_matches": len(matches) > MAX_SUSPECT_MATCHES, "query": query or (suspect.name if suspect else ""),
        "page": paginate(request, sightings, per_page=24), "filter_query": query_without_page(request),
        "searched": bool(suspect_id or query),
    })


def _sighting_or_404(request: HttpRequest, pk: int) -> Sighting:
    sighting = sighting_list_for_user(request.user).filter(pk=pk).select_related("footage__case").first()
    if sighting is None:
        raise Http404("no such sighting")
    return sighting


@role_required(*ALERT_ROLES)
def sighting_provenance(request: HttpRequest, pk: int) -> HttpResponse:
    """The enhancement record of a sighting's crop: each step, its parameters, weights and hashes, and the chain of
    hashes from the raw crop to the enhanced one checked (file and pixel hashes told apart)."""
    sighting = _sighting_or_404(request, pk)
    return render(request, "sightings/provenance.html", {"sighting": sighting, "chain": provenance_chain(sighting)})


@role_required(*ALERT_ROLES)
def sighting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One face track: raw and enhanced crops side by side, its frames and times, quality, candidates, alerts and
    provenance, with links back to its footage and case."""
    sighting = with_track_numbers(sighting_list_for_user(request.user).filter(pk=pk)).select_related(
        "footage__case", "best_suspect", "registry_version").first()
    if sighting is None:
        raise Http404("no such sighting")
    strip = _track_strip(sighting)
    best = next((e for e in sighting.track_frames or [] if isinstance(e, dict) and e.get("rank") == 0), {})
    return render(request, "sightings/detail.html", {
        "s": sighting, "footage": sighting.footage, "case": sighting.footage.case,
        "candidates": _candidates(sighting), "alerts": sighting.alerts.select_related("suspect").order_by("-score"),
        "averaged": _averaged(sighting, sighting.best_suspect),
        "track_strip": strip, "track_crops": [f for f in strip if f["has_crop"]][:24],
        "quality_rows": sorted((best.get("quality") or {}).items()) if isinstance(best.get("quality"), dict) else [],
        "steps": [r.get("step", "?") for r in sighting.enhancement_records or [] if isinstance(r, dict)],
    })


@role_required(*ALERT_ROLES)
@require_safe
def sighting_frame(request: HttpRequest, pk: int) -> HttpResponse:
    """The full frame of the sighting's best face (decoded from the original once if the analysis did not keep it)."""
    sighting = _sighting_or_404(request, pk)
    try:
        path = sighting_frame_path(sighting)
    except FrameUnavailable as exc:
        raise Http404(str(exc)) from exc
    return _private_image(str(path))


@role_required(*ALERT_ROLES)
@require_safe
def sighting_track_frame(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    """One crop of the track's frame strip. ``track_frames[i]["crop"]`` is a private-storage name that must lie
    in the sighting's own media folder; anything else is 404."""
    sighting = _sighting_or_404(request, pk)
    frames = sighting.track_frames or []
    entry = frames[index] if 0 <= index < len(frames) and isinstance(frames[index], dict) else {}
    name = str(entry.get("crop") or "")
    folder = PurePosixPath(sighting.media_folder)
    if not name or ".." in PurePosixPath(name).parts or folder not in PurePosixPath(name).parents:
        raise Http404("no such frame")
    storage = private_storage()
    if not storage.exists(name):
        raise Http404("no such frame")
    return _private_image(storage.path(name))


def _private_image(path: str, content_type: str = "image/jpeg") -> FileResponse:
    return private_file_response(path, "image/png" if path.endswith(".png") else content_type)


# --- operators: queue, review, explanation --------------------------------------------------------------------


@role_required(*ALERT_ROLES)
def alert_list(request: HttpRequest) -> HttpResponse:
    filters = {key: request.GET.get(key, "").strip() for key in ALERT_FILTERS}
    if "status" not in request.GET:
        filters["status"] = Alert.Status.NEW  # the queue opens on what needs review
    form = AlertFilterForm(filters, statuses=Alert.Status.choices, cases=alert_cases_for_user(request.user))
    # Invalid filters show nothing but their messages: a silently widened filter would mislead.
    alerts = alert_queue_for_user(request.user, filters) if form.is_valid() else Alert.objects.none()
    narrowed = any(filters[key] for key in ALERT_FILTERS if key != "status") or filters["status"] != Alert.Status.NEW
    return render(request, "alerts/list.html", {
        "page": paginate(request, alerts), "filters": filters, "form": form, "statuses": Alert.Status.choices,
        "suspect_label": _suspect_label(filters["suspect"]), "cases": form.fields["case"].choices[1:],
        "narrowed": narrowed, "filter_query": query_without_page(request),
        "can_review": can_review(request.user),
    })


def _suspect_label(value: str) -> str:
    """What the suspect filter box shows: a name for an id that came from a link, else what was typed."""
    if value.isdigit():
        suspect = suspect_get(int(value))
        return suspect.name if suspect else value
    return value


def _alert_or_404(request: HttpRequest, pk: int) -> Alert:
    alert = alert_get_for_user(request.user, pk)
    if alert is None:
        raise Http404("no such alert")
    return alert


@role_required(*ALERT_ROLES)
def alert_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One queue row, rendered by the server so a live-pushed alert looks exactly like the others."""
    alert = _alert_or_404(request, pk)
    return render(request, "alerts/_row.html", {"alert": alert, "fresh": True,
                                                 "can_review": can_review(request.user)})


def _candidates(sighting: Sighting | None) -> list[dict[str, Any]]:
    """Top-5 candidates with their suspects loaded in one query. Entries are dicts with ``suspect_id`` and
    ``score`` and/or ``distance`` (as the analysis stage records them); anything else is skipped."""
    entries = [c for c in (sighting.top_candidates if sighting else []) or [] if isinstance(c, dict)][:5]
    suspects = suspects_by_id([c.get("suspect_id") for c in entries if c.get("suspect_id")])
    return [{**entry, "suspect": suspects.get(entry.get("suspect_id")), "rank": rank}
            for rank, entry in enumerate(entries, start=1)]


def _averaged(sighting: Sighting | None, suspect: Any) -> dict[str, Any] | None:
    """What the review shows beside the averaged chip: how many frames it averages and whether its distance is
    the one recorded for ``suspect`` (the alert's suspect, or the sighting's best match; may be None); None when
    the sighting has no averaged chip."""
    if sighting is None or not sighting.averaged_chip:
        return None
    record = sighting.averaged_chip_record if isinstance(sighting.averaged_chip_record, dict) else {}
    rows = [c for c in sighting.top_candidates or [] if isinstance(c, dict)]
    row = next((c for c in rows if suspect is not None and c.get("suspect_id") == suspect.pk), None)
    return {"frames": len(record.get("frames") or []), "name": suspect.name if row is not None else None,
            "decided": bool(row and row.get("view") == "averaged chip"),
            "distance": row.get("distance") if row else None}


def _track_strip(sighting: Sighting | None) -> list[dict[str, Any]]:
    strip = []
    for index, entry in enumerate((sighting.track_frames if sighting else []) or []):
        if isinstance(entry, dict):
            strip.append({"index": index, "frame": entry.get("frame", entry.get("frame_index")),
                          "ts": entry.get("ts"), "has_crop": bool(entry.get("crop"))})
        elif isinstance(entry, int):
            strip.append({"index": index, "frame": entry, "ts": None, "has_crop": False})
    return strip


@role_required(*ALERT_ROLES)
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert_or_404(request, pk)
    sighting = alert.sighting
    suspect = alert.suspect
    records = (sighting.enhancement_records if sighting else []) or []
    photos = list(suspect.photos.all()[:8])
    media_shown(request, kind="suspect-photo", field="image", pks=[photo.pk for photo in photos],
                what="alert review", obj=alert)
    next_alert_id = alert_queue_for_user(request.user, {"status": Alert.Status.NEW}).filter(
        created_at__lte=alert.created_at).exclude(pk=alert.pk).values_list("pk", flat=True).first()
    return render(request, "alerts/detail.html", {
        "alert": alert, "sighting": sighting, "suspect": suspect,
        "photos": photos,
        "candidates": _candidates(sighting),
        "averaged": _averaged(sighting, suspect),
        "steps": [r.get("step", "?") for r in records if isinstance(r, dict)],
        "track_strip": [f for f in _track_strip(sighting) if f["has_crop"]][:24],
        "track_frame_count": len(_track_strip(sighting)),
        "can_review": can_review(request.user),
        "actions": [("confirm", "Confirm match", "c"), ("dismiss", "Dismiss", "d"),
                    ("not_this_person", "Not this person", "n")],
        "next_alert_id": next_alert_id,
        "explanation": explanations.explanation_state(alert),
        "case": alert.footage.case if alert.footage else (alert.camera.case if alert.camera else None),
        "alert_threshold": _alert_threshold(alert),
        **page_context("alert_detail", request, alert=alert),
    })


def _alert_threshold(alert: Alert) -> dict[str, Any] | None:
    """The distance under which this footage alerted and the registry it was set for (the analysis saves both)."""
    state = (alert.footage.analysis_state if alert.footage else None) or {}
    threshold = (state.get("config") or {}).get("threshold")
    if threshold is None:
        return None
    return {"distance": float(threshold), "basis": state.get("threshold_basis", "")}


@role_required(*ALERT_ROLES)
@require_POST
def alert_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, dismiss or "not this person", with an optional note. The service refuses a second decision on a
    reviewed alert unless the reviewer overrides it with a note; the page says who decided."""
    alert = _alert_or_404(request, pk)
    if not can_review(request.user):  # the same rule that decides whether the buttons are shown
        return HttpResponseForbidden("Your role may view alerts but not review them.")
    error = None
    try:
        alert = alert_review_service(actor=request.user, alert=alert, decision=request.POST.get("action", ""),
                                     note=request.POST.get("note", "")[:2000],
                                     override=request.POST.get("override") == "1")
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if getattr(exc, "code", None) == "invalid":
            error = "Choose confirm, dismiss or not this person."
        elif getattr(exc, "code", None) == "already_reviewed":
            error = error[0].upper() + error[1:] + " (tick “change decision” and write a note)."
        alert.refresh_from_db()
    if wants_json(request):
        if error:
            return JsonResponse({"error": error, "status": alert.status}, status=409)
        return JsonResponse({"id": alert.pk, "status": alert.status, "status_display": alert.get_status_display(),
                             "reviewed_by": request.user.get_username(),
                             "reviewed_at": alert.reviewed_at.isoformat()})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Alert {alert.pk}: {alert.get_status_display()}.")
    return redirect("alert-detail", pk=alert.pk)


@role_required(*ALERT_ROLES)
@require_POST
def alert_review_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo one's own decision of a moment ago (the Undo the queue shows after a one-key decision)."""
    alert = _alert_or_404(request, pk)
    if not can_review(request.user):
        return HttpResponseForbidden("Your role may view alerts but not review them.")
    try:
        alert = alert_review_undo_service(actor=request.user, alert=alert)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if wants_json(request):
            return JsonResponse({"error": error[0].upper() + error[1:] + "."}, status=409)
        messages.error(request, error[0].upper() + error[1:] + ".")
        return redirect("alert-detail", pk=alert.pk)
    if wants_json(request):
        return JsonResponse({"id": alert.pk, "status": alert.status, "status_display": alert.get_status_display()})
    messages.success(request, f"Alert {alert.pk}: decision undone, it is new again.")
    return redirect("alert-detail", pk=alert.pk)


@role_required(*ALERT_ROLES)
@require_http_methods(["GET", "POST"])
def alert_explain(request: HttpRequest, pk: int) -> JsonResponse:
    """POST asks the worker for the heat-map (once; later requests reuse the cached image); GET reports state."""
    alert = _alert_or_404(request, pk)
    if request.method == "POST":
        state = explanations.explanation_request(actor=request.user, alert=alert)
    else:
        state = explanations.explanation_state(alert)
    return JsonResponse(state or {"state": "none"})


@role_required(*ALERT_ROLES)
@require_safe
def alert_explain_image(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert_or_404(request, pk)
    path = explanations.verified_explanation_path(alert)
    if path is None:
        raise Http404("no explanation yet")
    return _private_image(str(path), "image/png")


@role_required(ROLE_ADMIN)
@require_safe
def calibration_page(request: HttpRequest) -> HttpResponse:
    from footage.calibration import calibration_status
    from suspects.selectors import registry_status

    version = registry_status()["version"]
    return render(request, "calibration.html",
                  {"status": calibration_status(version.suspect_count if version else None), "version": version})

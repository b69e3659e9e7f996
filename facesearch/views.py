"""Pages: search by face (upload a still or start from a sighting), add a result to a case, enrol a suspect from
results (admins), unknown-person profiles (list, timeline, merge, split, promote). Thin: parse, call one service."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from facecase.roles import ROLE_ADMIN, ROLE_ANALYST, is_admin
from facecase.selectors import case_list_for_user
from facesearch.models import Profile
from facesearch.selectors import (
    face_search_get_for_user,
    filtered_sightings,
    profile_appearances,
    profile_get_for_user,
    profile_list_for_user,
    sighting_for_user,
)
from facesearch.services import (
    face_search_run,
    profile_merge,
    profile_promote,
    profile_split,
    sighting_attach_to_case,
    suspect_from_sightings,
)
from footage.views import _private_image

ROLES = (ROLE_ANALYST, ROLE_ADMIN)
FILTERS = ("case", "source", "date_from", "date_to", "min_score")


def _role_required(view):
    from facecase.ui import role_required

    return role_required(*ROLES)(view)


@_role_required
@require_http_methods(["GET", "POST"])
def face_search(request: HttpRequest) -> HttpResponse:
    """GET shows the form (``?sighting=<id>``: ready to search with that sighting); POST searches (a photo upload,
    or the sighting), which stores the probe and audits the search."""
    data = request.POST if request.method == "POST" else request.GET
    filters = {key: data.get(key, "").strip() for key in FILTERS}
    outcome, error, sighting = None, None, None
    sighting_id = data.get("sighting", "")
    if sighting_id:
        sighting = sighting_for_user(request.user, int(sighting_id)) if sighting_id.isdigit() else None
        if sighting is None:
            raise Http404("no such sighting")
    upload = request.FILES.get("probe") if sighting is None else None
    if request.method == "POST":
        try:
            if upload is None and sighting is None:
                raise ValidationError("choose a photo of the face, or start from a sighting")
            outcome = face_search_run(actor=request.user, probe=upload.read() if upload else None,
                                      probe_name=upload.name if upload else "", sighting=sighting, filters=filters)
        except (ValidationError, ValueError) as exc:
            error = " ".join(getattr(exc, "messages", [str(exc)]))
    cases = case_list_for_user(request.user).only("pk", "reference").order_by("reference")
    return render(request, "search/face.html", {
        "filters": filters, "outcome": outcome, "error": error, "sighting": sighting, "cases": cases,
        "can_enrol": is_admin(request.user),
    }, status=400 if error else 200)


@_role_required
@require_safe
def face_search_probe(request: HttpRequest, pk: int) -> HttpResponse:
    search = face_search_get_for_user(request.user, pk)
    if search is None or not search.probe:
        raise Http404("no such probe")
    return _private_image(search.probe.path)


@_role_required
@require_POST
def sighting_add_to_case(request: HttpRequest, pk: int) -> HttpResponse:
    sighting = filtered_sightings(request.user, {}).filter(pk=pk).select_related("footage").first()
    case_id = request.POST.get("case", "")
    case = case_list_for_user(request.user).filter(pk=int(case_id)).first() if case_id.isdigit() else None
    if sighting is None or case is None:
        raise Http404("no such sighting or case")
    search = face_search_get_for_user(request.user, int(request.POST.get("search") or 0))
    _, created = sighting_attach_to_case(actor=request.user, sighting=sighting, case=case, search=search)
    messages.success(request, f"Sighting {sighting.pk} {'added to' if created else 'was already in'} {case.reference}.")
    return redirect("case-detail", pk=case.pk)


@_role_required
@require_POST
def suspect_enrol_from_sightings(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise Http404("admins only")
    ids = [int(v) for v in request.POST.getlist("sightings") if v.isdigit()]
    sightings = list(filtered_sightings(request.user, {}).filter(pk__in=ids))
    try:
        suspect, checks = suspect_from_sightings(actor=request.user, sightings=sightings,
                                                 name=request.POST.get("name", ""),
                                                 external_id=request.POST.get("external_id", ""))
    except ValidationError as exc:
        messages.error(request, "Not enrolled: " + " ".join(exc.messages))
        return redirect("face-search")
    used = sum(c.used for c in checks)
    messages.success(request, f"{suspect.name} started from {used} of {len(checks)} crop(s) (face check passed).")
    return redirect("suspect-detail", pk=suspect.pk)


@_role_required
@require_safe
def profile_list(request: HttpRequest) -> HttpResponse:
    return render(request, "profiles/list.html", {"rows": profile_list_for_user(request.user)[:200]})


def _profile_or_404(request: HttpRequest, pk: int) -> Profile:
    profile = profile_get_for_user(request.user, pk)
    if profile is None:
        raise Http404("no such profile")
    return profile


@_role_required
def profile_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The timeline; POST ``action`` = merge (``profiles``), split (``sightings``) or promote (name, external id)."""
    profile = _profile_or_404(request, pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "merge":
                others = [_profile_or_404(request, int(v)) for v in request.POST.get("profiles", "").replace(
                    ",", " ").split() if v.isdigit()]
                profile_merge(actor=request.user, target=profile, others=others)
                messages.success(request, f"Merged into {profile}.")
            elif action == "split":
                ids = [int(v) for v in request.POST.getlist("sightings") if v.isdigit()]
                new = profile_split(actor=request.user, profile=profile,
                                    sightings=list(profile_appearances(request.user, profile).filter(pk__in=ids)))
                messages.success(request, f"{len(ids)} sighting(s) split off into {new}.")
                return redirect("profile-detail", pk=new.pk)
            elif action == "promote":
                suspect, _ = profile_promote(
                    actor=request.user, profile=profile,
                    sightings=list(profile_appearances(request.user, profile)[:10]),
                    name=request.POST.get("name", ""), external_id=request.POST.get("external_id", ""))
                messages.success(request, f"{profile} promoted to suspect {suspect.name}.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("profile-detail", pk=profile.pk)
    return render(request, "profiles/detail.html", {
        "profile": profile, "appearances": profile_appearances(request.user, profile)[:500]})

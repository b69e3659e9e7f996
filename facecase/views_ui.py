"""Analyst and admin pages of the core app: cases (list, page, members, notes) and the audit log."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from facecase.forms import FootageUploadForm
from facecase.forms_ui import AuditFilterForm, CaseMemberForm, CaseNoteForm
from facecase.models import AuditEvent, Case
from facecase.notes import case_note_add, case_notes
from facecase.roles import ROLE_ADMIN, ROLE_ANALYST
from facecase.selectors import audit_event_list, case_get_for_user, case_list_for_user
from facecase.services import case_member_add
from facecase.ui import paginate, query_without_page, role_required
from footage.models import Alert, Footage
from footage.selectors import alert_list_for_user, sightings_for_case

CASE_ROLES = (ROLE_ANALYST, ROLE_ADMIN)
GALLERY_SIZE = 24


def _case_or_404(request: HttpRequest, pk: int) -> Case:
    case = case_get_for_user(request.user, pk)
    if case is None:
        raise Http404("no such case")
    return case


@role_required(*CASE_ROLES)
def case_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    cases = case_list_for_user(request.user).select_related("created_by").annotate(
        footage_count=Count("footage", distinct=True)
    )
    if query:
        cases = cases.filter(title__icontains=query) | cases.filter(reference__icontains=query)
    status = request.GET.get("status", "")
    if status in Case.Status.values:
        cases = cases.filter(status=status)
    return render(request, "cases/list.html", {
        "page": paginate(request, cases.order_by("-created_at")), "query": query, "status": status,
        "statuses": Case.Status.choices, "filter_query": query_without_page(request),
        "can_create": request.user.has_perm("facecase.add_case"),
    })


@role_required(*CASE_ROLES)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk)
    footage = Footage.objects.filter(case=case).select_related("uploaded_by").order_by("-created_at")
    sightings = sightings_for_case(case.pk)
    alerts = alert_list_for_user(request.user).filter(Q(footage__case=case) | Q(camera__case=case))
    alerts = alerts.order_by("-created_at")
    can_edit = request.user.has_perm("facecase.change_case") and case.status == Case.Status.OPEN
    return render(request, "cases/detail.html", {
        "case": case,
        "members": case.memberships.select_related("user").order_by("added_at"),
        "footage_list": footage,
        "sightings": sightings[:GALLERY_SIZE],
        "sighting_count": sightings.count(),
        "alerts": alerts[:20],
        "alert_count": alerts.count(),
        "alert_new_count": alerts.filter(status=Alert.Status.NEW).count(),
        "notes": case_notes(case).select_related("actor")[:50],
        "note_form": CaseNoteForm(),
        "member_form": CaseMemberForm(),
        "form": FootageUploadForm(),
        "can_upload": request.user.has_perm("footage.add_footage") and case.status == Case.Status.OPEN,
        "can_add_member": request.user.has_perm("facecase.add_casemember") and can_edit,
        "can_note": can_edit,
    })


@role_required(*CASE_ROLES)
@require_POST
def case_member_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk)
    if not request.user.has_perm("facecase.add_casemember"):
        raise Http404("no such case")
    form = CaseMemberForm(request.POST)
    if form.is_valid():
        member = form.cleaned_data["username"]
        case_member_add(actor=request.user, case=case, user=member)
        messages.success(request, f"{member.get_username()} can now see {case.reference}.")
    else:
        messages.error(request, "Member not added: " + " ".join(form.errors.get("username", [])))
    return redirect("case-detail", pk=case.pk)


@role_required(*CASE_ROLES)
@require_POST
def case_note_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk)
    try:
        case_note_add(actor=request.user, case=case, text=request.POST.get("text", ""))
    except ValidationError as exc:
        messages.error(request, "Note not saved: " + " ".join(exc.messages))
    else:
        messages.success(request, "Note added.")
    return redirect(f"/cases/{case.pk}/#notes")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _audit_csv(events: object) -> StreamingHttpResponse:
    """Streamed, so an export of the whole log never sits in memory."""
    writer = csv.writer(_Echo())
    header = ["created_at", "actor", "verb", "object_type", "object_id", "details"]

    def rows() -> object:
        yield writer.writerow(header)
        for event in events.iterator(chunk_size=2000):
            yield writer.writerow([event.created_at.isoformat(), event.actor_username or "system", event.verb,
                                   event.object_type, event.object_id, json.dumps(event.details, sort_keys=True)])

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="facecase-audit.csv"'
    return response


@role_required(ROLE_ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = {key: str(value) for key, value in form.cleaned_data.items() if value} if form.is_valid() else {}
    events = audit_event_list(filters)
    if request.GET.get("format") == "csv":
        return _audit_csv(events)
    verbs = AuditEvent.objects.order_by("verb").values_list("verb", flat=True).distinct()
    object_types = AuditEvent.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    return render(request, "audit/list.html", {
        "form": form, "page": paginate(request, events), "filter_query": query_without_page(request),
        "verbs": list(verbs), "object_types": list(object_types),
    })

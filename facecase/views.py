"""Pages of the core app: home, cases (list, new, page, members, notes) and the audit log.

The footage, alerts and registry parts of the home and case pages come from those apps through
``facecase.extensions.page_context``; their own pages are in ``footage/views.py`` and ``suspects/views.py``."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from facecase.extensions import page_context
from facecase.forms import AuditFilterForm, CaseForm, CaseMemberForm, CaseNoteForm
from facecase.models import AuditEvent, Case
from facecase.notes import case_note_add, case_notes
from facecase.roles import CASE_ROLES, ROLE_ADMIN, is_admin, is_analyst
from facecase.selectors import audit_event_list, case_get_for_user, case_list_for_user
from facecase.services import case_create, case_member_add
from facecase.ui import paginate, query_without_page, role_required


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {"cases": case_list_for_user(user)[:10] if is_analyst(user) or is_admin(user) else []}
    context.update(page_context("home", request))
    return render(request, "home.html", context)


@login_required
@permission_required("facecase.add_case", raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    form = CaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = case_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("case-detail", pk=case.pk)
    return render(request, "cases/new.html", {"form": form})


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
    can_edit = request.user.has_perm("facecase.change_case") and case.status == Case.Status.OPEN
    return render(request, "cases/detail.html", {
        "case": case,
        "members": case.memberships.select_related("user").order_by("added_at"),
        "notes": case_notes(case).select_related("actor")[:50],
        "note_form": CaseNoteForm(),
        "member_form": CaseMemberForm(),
        "can_add_member": request.user.has_perm("facecase.add_casemember") and can_edit,
        "can_note": can_edit,
        **page_context("case_detail", request, case=case),
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

"""Web pages: thin views that parse input, call one service or selector, and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from facecase.forms import CaseForm, FootageUploadForm
from facecase.roles import is_admin, is_analyst, is_operator
from facecase.selectors import case_get_for_user, case_list_for_user
from facecase.services import case_create
from facecase.uploads import upload_errors
from footage.selectors import alert_list_for_user, footage_get_for_user, footage_list_for_user
from footage.services import footage_ingest
from suspects.models import RegistryVersion, Suspect


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "cases": case_list_for_user(user)[:10] if is_analyst(user) or is_admin(user) else [],
        "new_alerts": alert_list_for_user(user).filter(status="new")[:10] if is_operator(user) else [],
        "suspect_count": Suspect.objects.count() if is_admin(user) else None,
        "registry": RegistryVersion.objects.first() if is_admin(user) else None,
        "recent_footage": footage_list_for_user(user)[:10],
    }
    return render(request, "home.html", context)


@login_required
@permission_required("facecase.view_case", raise_exception=True)
def case_list(request: HttpRequest) -> HttpResponse:
    return render(request, "cases/list.html", {"cases": case_list_for_user(request.user).select_related("created_by")})


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


@login_required
@permission_required("facecase.view_case", raise_exception=True)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_get_for_user(request.user, pk)
    if case is None:
        raise Http404("no such case")
    footage = footage_list_for_user(request.user).filter(case=case)
    can_upload = request.user.has_perm("footage.add_footage") and case.status == case.Status.OPEN
    return render(request, "cases/detail.html", {
        "case": case, "footage_list": footage, "form": FootageUploadForm(), "can_upload": can_upload,
    })


@login_required
@permission_required("footage.add_footage", raise_exception=True)
@require_POST
def case_upload(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_get_for_user(request.user, pk)
    if case is None:
        raise Http404("no such case")
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Upload refused: " + (upload_errors(request).get("file") or "no file chosen"))
        return redirect("case-detail", pk=case.pk)
    try:
        footage = footage_ingest(actor=request.user, case=case, upload=upload)
    except ValidationError as exc:
        messages.error(request, f"Upload refused ({upload.name}): " + " ".join(exc.messages))
    else:
        messages.success(request, f"{footage.original_name} uploaded and queued for processing.")
    return redirect("case-detail", pk=case.pk)


@login_required
@permission_required("footage.view_footage", raise_exception=True)
def footage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    footage = footage_get_for_user(request.user, pk)
    if footage is None:
        raise Http404("no such footage")
    return render(request, "footage/detail.html", {"footage": footage, "log_lines": footage.log_lines.all()})


@login_required
@permission_required("footage.view_alert", raise_exception=True)
def alert_list(request: HttpRequest) -> HttpResponse:
    alerts = alert_list_for_user(request.user)[:200]
    return render(request, "alerts/list.html", {"alerts": alerts})


@login_required
@permission_required("suspects.view_suspect", raise_exception=True)
def suspect_list(request: HttpRequest) -> HttpResponse:
    suspects = Suspect.objects.prefetch_related("photos")
    return render(request, "suspects/list.html", {"suspects": suspects})

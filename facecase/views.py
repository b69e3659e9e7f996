"""Web pages of the platform: home and new case. The case, footage, alert and registry pages are in the
``*/views_ui.py`` modules (routed by ``facecase/urls_ui.py``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from facecase.forms import CaseForm
from facecase.roles import is_admin, is_analyst, is_operator
from facecase.selectors import case_list_for_user
from facecase.services import case_create
from footage.selectors import alert_list_for_user, footage_list_for_user
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

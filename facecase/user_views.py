"""The admins' users page: accounts, roles, activation, passwords and API tokens, each change audited
(``facecase/users.py``). Superusers keep the Django admin for anything else."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from facecase.forms import UserCreateForm, UserPasswordForm, UserRolesForm
from facecase.roles import ROLE_ADMIN, ROLES
from facecase.ui import role_required
from facecase.users import (
    user_create,
    user_get,
    user_list,
    user_revoke_tokens,
    user_set_active,
    user_set_password,
    user_set_roles,
)


def _held(user: Any) -> list[str]:
    """The roles an account holds, active or not (a deactivated account keeps them for when it comes back)."""
    return sorted({group.name for group in user.groups.all()} & set(ROLES))


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@role_required(ROLE_ADMIN)
@require_http_methods(["GET", "POST"])
def users_page(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"User {user.username} created.")
            return redirect("user-detail", pk=user.pk)
    with_tokens = set(Token.objects.values_list("user_id", flat=True))
    rows = [{"user": u, "roles": _held(u), "token": u.pk in with_tokens}
            for u in user_list()]
    return render(request, "users/list.html", {"rows": rows, "form": form})


@role_required(ROLE_ADMIN)
@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_get(pk)
    if user is None:
        raise Http404("no such user")
    roles_form = UserRolesForm(initial={"roles": _held(user)})
    password_form = UserPasswordForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "roles":
                roles_form = UserRolesForm(request.POST)
                if roles_form.is_valid():
                    user_set_roles(actor=request.user, user=user, roles=roles_form.cleaned_data["roles"])
                    messages.success(request, f"Roles of {user.username} saved.")
                    return redirect("user-detail", pk=user.pk)
            elif action in ("deactivate", "activate"):
                user_set_active(actor=request.user, user=user, active=action == "activate")
                done = "re-activated" if action == "activate" else "deactivated (and any API token revoked)"
                messages.success(request, f"{user.username} {done}.")
                return redirect("user-detail", pk=user.pk)
            elif action == "password":
                password_form = UserPasswordForm(request.POST)
                if password_form.is_valid():
                    user_set_password(actor=request.user, user=user, password=password_form.cleaned_data["password"])
                    messages.success(request, f"Password of {user.username} reset; tell them the new one in person.")
                    return redirect("user-detail", pk=user.pk)
            elif action == "revoke_tokens":
                revoked = user_revoke_tokens(actor=request.user, user=user)
                messages.success(request, f"API token of {user.username} revoked." if revoked
                                 else f"{user.username} had no API token.")
                return redirect("user-detail", pk=user.pk)
        except ValidationError as exc:
            target = password_form if action == "password" else roles_form
            if hasattr(exc, "error_dict") or action in ("roles", "password"):
                _add_errors(target, exc)
            else:
                messages.error(request, " ".join(exc.messages))
    return render(request, "users/detail.html", {
        "account": user, "roles": _held(user), "roles_form": roles_form, "password_form": password_form,
        "has_token": Token.objects.filter(user=user).exists(),
    })

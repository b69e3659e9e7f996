"""Account administration inside the app (issue 18): create, deactivate, set roles, reset password, revoke API
tokens. Each change is one audited service call; the pages are in ``facecase/user_views.py``. The Django admin stays
for superusers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from facecase.api_tokens import token_revoke
from facecase.roles import ROLE_ADMIN, ROLES, user_roles
from facecase.services import audit_record


def user_list() -> Any:
    return get_user_model().objects.prefetch_related("groups").order_by("username")


def user_get(pk: int) -> Any:
    return get_user_model().objects.filter(pk=pk).first()


def user_create(*, actor: Any, username: str, password: str, roles: list[str], email: str = "") -> Any:
    model = get_user_model()
    username = username.strip()
    if model.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"The username “{username}” is taken."}, code="unique")
    user = model(username=username, email=email.strip())
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    with transaction.atomic():
        user.set_password(password)
        user.full_clean()
        user.save()
        _set_groups(user, roles)
        audit_record(actor=actor, verb="user_create", obj=user,
                     details={"user": user.username, "roles": sorted(roles)})
    return user


def _set_groups(user: Any, roles: list[str]) -> None:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValidationError(f"unknown role(s): {', '.join(sorted(unknown))}", code="invalid")
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name__in=roles))
    user.groups.add(*Group.objects.filter(name__in=roles))
    # Admins are staff (the evidence-key page lives in the admin area); others are not, unless superusers.
    staff = ROLE_ADMIN in roles or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    if hasattr(user, "_facecase_roles"):
        del user._facecase_roles


def user_set_roles(*, actor: Any, user: Any, roles: list[str]) -> Any:
    before = sorted(user_roles(user))
    if actor.pk == user.pk and ROLE_ADMIN in before and ROLE_ADMIN not in roles:
        raise ValidationError("You cannot take the admin role from yourself; ask another admin.", code="conflict")
    with transaction.atomic():
        _set_groups(user, roles)
        audit_record(actor=actor, verb="user_roles", obj=user,
                     details={"user": user.username, "from": ", ".join(before) or "none",
                              "to": ", ".join(sorted(roles)) or "none"})
    return user


def user_set_active(*, actor: Any, user: Any, active: bool) -> Any:
    if actor.pk == user.pk and not active:
        raise ValidationError("You cannot deactivate your own account.", code="conflict")
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_record(actor=actor, verb="user_activate" if active else "user_deactivate", obj=user,
                     details={"user": user.username})
    if not active:
        token_revoke(actor=actor, user=user)  # a deactivated account's API token stops working too
    return user


def user_set_password(*, actor: Any, user: Any, password: str) -> Any:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(actor=actor, verb="user_password_reset", obj=user, details={"user": user.username})
    return user


def user_revoke_tokens(*, actor: Any, user: Any) -> bool:
    return token_revoke(actor=actor, user=user)

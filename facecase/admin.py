from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from facecase.models import AuditEvent, Case, CaseMember
from facecase.services import audit_record


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence and case records change only through the app's pages and API, whose services audit every write;
    the Django admin shows them and changes nothing."""

    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _access(user: Any) -> dict[str, Any]:
    return {"groups": sorted(user.groups.values_list("name", flat=True)), "is_staff": user.is_staff,
            "is_superuser": user.is_superuser, "is_active": user.is_active}


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Users stay editable here (superusers' tool), but every change of access (groups, staff, superuser, active)
    and every new or deleted account is written to the audit log with before and after."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        request._facecase_access_before = _access(User.objects.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user, before = form.instance, getattr(request, "_facecase_access_before", None)
        after = _access(user)
        if before is None:
            audit_record(actor=request.user, verb="user_create", obj=user,
                         details={"username": user.get_username(), "after": after})
        elif before != after:
            audit_record(actor=request.user, verb="user_access_change", obj=user,
                         details={"username": user.get_username(), "before": before, "after": after})

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit_record(actor=request.user, verb="user_delete", obj=obj,
                     details={"username": obj.get_username(), "before": _access(obj)})
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for user in queryset:
            self.delete_model(request, user)


class CaseMemberInline(ReadOnlyInline):
    model = CaseMember


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ["reference", "title", "status", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["reference", "title"]
    inlines = [CaseMemberInline]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the audit log has no add, change or delete path, not even here."""

    list_display = ["created_at", "actor_username", "verb", "object_type", "object_id"]
    list_filter = ["verb", "object_type"]
    search_fields = ["actor_username", "object_id"]

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from facecase.models import AuditEvent, Case, CaseMember


class CaseMemberInline(admin.TabularInline):
    model = CaseMember
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["reference", "title", "status", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["reference", "title"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    inlines = [CaseMemberInline]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log has no add, change or delete path, not even here."""

    list_display = ["created_at", "actor_username", "verb", "object_type", "object_id"]
    list_filter = ["verb", "object_type"]
    search_fields = ["actor_username", "object_id"]
    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

"""DRF permission: each view names the model permission each HTTP method needs (granted through role groups).
Object visibility is a separate matter, handled by selectors (invisible objects are 404)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class MethodPermission(BasePermission):
    """``view.required_perms = {"GET": "app.view_x", "POST": "app.add_x"}``; unlisted methods are refused (403), and
    methods the view does not implement are left to DRF's 405 (for a logged-in user)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        if not hasattr(view, method.lower()):
            return True  # the view has no such handler: let it answer 405, not a misleading 403
        perm = getattr(view, "required_perms", {}).get(method)
        return bool(perm) and user.has_perm(perm)

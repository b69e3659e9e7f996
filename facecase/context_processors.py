from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from facecase.roles import user_roles


def roles(request: HttpRequest) -> dict[str, Any]:
    held = user_roles(getattr(request, "user", None))
    return {
        "roles": held,
        "is_admin": "admin" in held,
        "is_operator": "operator" in held,
        "is_analyst": "analyst" in held,
    }

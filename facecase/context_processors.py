from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from facecase.roles import user_roles


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    held = user_roles(user)
    username = user.get_username() if user is not None and user.is_authenticated else ""
    return {
        "roles": held,
        # What the header shows beside the name: sorted, and not "analyst analyst" for an account named after its role.
        "header_roles": sorted(role for role in held if role != username),
        "is_admin": "admin" in held,
        "is_operator": "operator" in held,
        "is_analyst": "analyst" in held,
    }

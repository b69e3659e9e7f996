"""Roles are Django groups with model permissions. A user may hold several; superusers count as admins.

- admin: manages the suspect registry and users, sees every case and alert;
- operator: sees and reviews match alerts;
- analyst: creates cases and attaches footage to them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group

ROLE_ADMIN = "admin"
ROLE_OPERATOR = "operator"
ROLE_ANALYST = "analyst"
CASE_ROLES = (ROLE_ANALYST, ROLE_ADMIN)  # who works on cases: their pages, footage and sightings
ROLES = (ROLE_ADMIN, ROLE_OPERATOR, ROLE_ANALYST)

# Search by face, unknown-person profiles (list, merge, split, promote) and "add to case": analysts and admins.
FACE_SEARCH_PERMISSIONS = [
    ("facesearch", "add_facesearch"), ("facesearch", "view_facesearch"), ("facesearch", "view_profile"),
    ("facesearch", "change_profile"), ("facesearch", "add_casesighting"), ("facesearch", "view_casesighting"),
]

# (app_label, codename) per role. The data migration and ``sync_role_groups`` both read this table.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    ROLE_ADMIN: [
        *[("suspects", f"{action}_{model}") for model in ("suspect", "suspectphoto", "registryversion")
          for action in ("add", "change", "delete", "view")],
        ("facecase", "view_case"), ("facecase", "change_case"),
        ("facecase", "view_casemember"), ("facecase", "add_casemember"), ("facecase", "delete_casemember"),
        ("facecase", "view_auditevent"),
        ("auth", "add_user"), ("auth", "change_user"), ("auth", "view_user"), ("auth", "view_group"),
        ("footage", "view_footage"), ("footage", "view_joblogline"), ("footage", "view_sighting"),
        ("footage", "view_alert"), ("footage", "view_reviewlabel"),
        *FACE_SEARCH_PERMISSIONS,
        *[("cameras", f"{action}_camera") for action in ("add", "change", "delete", "view")],
    ],
    ROLE_OPERATOR: [
        ("footage", "view_alert"), ("footage", "change_alert"), ("footage", "view_sighting"),
        ("footage", "add_reviewlabel"), ("footage", "view_reviewlabel"),
        ("suspects", "view_suspect"), ("suspects", "view_suspectphoto"), ("suspects", "view_registryversion"),
        ("cameras", "view_camera"),
    ],
    ROLE_ANALYST: [
        ("facecase", "add_case"), ("facecase", "change_case"), ("facecase", "view_case"),
        ("facecase", "add_casemember"), ("facecase", "view_casemember"),
        ("footage", "add_footage"), ("footage", "view_footage"), ("footage", "view_joblogline"),
        ("footage", "view_sighting"), ("footage", "view_alert"),
        ("suspects", "view_suspect"), ("suspects", "view_suspectphoto"),
        *FACE_SEARCH_PERMISSIONS,
        ("cameras", "view_camera"),
    ],
}

User = AbstractBaseUser | AnonymousUser


def user_roles(user: Any) -> set[str]:
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    cached = getattr(user, "_facecase_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            cached.add(ROLE_ADMIN)
        user._facecase_roles = cached
    return set(cached)


def has_role(user: Any, *roles: str) -> bool:
    """True when the user holds at least one of ``roles``."""
    return bool(user_roles(user) & set(roles))


def is_admin(user: Any) -> bool:
    return has_role(user, ROLE_ADMIN)


def is_operator(user: Any) -> bool:
    return has_role(user, ROLE_OPERATOR)


def is_analyst(user: Any) -> bool:
    return has_role(user, ROLE_ANALYST)


def assign_role(user: Any, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    user.groups.add(Group.objects.get(name=role))
    if role == ROLE_ADMIN and not user.is_staff:
        # Admins manage users and the registry in the Django admin, which only lets staff in.
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    if hasattr(user, "_facecase_roles"):
        del user._facecase_roles


def _has_models(apps: Any, app_label: str) -> bool:
    try:
        return bool(list(apps.get_app_config(app_label).get_models()))
    except LookupError:
        return False


def sync_role_groups(apps: Any = None, using: str = "default") -> None:
    """Create the role groups and give them exactly the permissions in ``ROLE_PERMISSIONS`` (idempotent)."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.using(using).get_or_create(name=role)
        # An app whose models a migration has not created yet has no permissions yet: its own migration syncs again.
        wanted = [
            permission_model.objects.using(using).get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in perms if _has_models(apps, app_label)
        ]
        group.permissions.set(wanted)

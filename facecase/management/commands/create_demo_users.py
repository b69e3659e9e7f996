"""Create the demo admin, operator and analyst with generated passwords, printed once, on first creation only."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from facecase.roles import ROLE_ADMIN, ROLE_ANALYST, ROLE_OPERATOR, assign_role

DEMO_USERS = [("admin", ROLE_ADMIN), ("operator", ROLE_OPERATOR), ("analyst", ROLE_ANALYST)]


class Command(BaseCommand):
    help = "Create demo users admin/operator/analyst (generated passwords, printed once)."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        created = []
        for username, role in DEMO_USERS:
            if user_model.objects.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(12)
            is_admin = role == ROLE_ADMIN
            user = user_model.objects.create_user(
                username=username, password=password, is_staff=is_admin, is_superuser=is_admin
            )
            assign_role(user, role)
            created.append((username, role, password))
        if not created:
            self.stdout.write("Demo users already exist (passwords were printed when they were created).")
            return
        self.stdout.write(self.style.WARNING("Demo users created. These passwords are shown only this once:"))
        for username, role, password in created:
            self.stdout.write(f"  {role:<9} username={username:<9} password={password}")
        self.stdout.write("Change one later with: .venv/bin/python manage.py changepassword <username>")

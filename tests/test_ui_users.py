"""The admins' users page (issue 18, point 10): accounts, roles, deactivation, password reset and API-token
revocation inside the app, each audited; other roles are refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from facecase.models import AuditEvent
from facecase.roles import user_roles

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_refuses_the_users_page_to_everyone_but_admins(bob: Any, charlie: Any, mallory: Any, alice: Any):
    for user in (bob, charlie, mallory):
        assert logged_in(user).get("/users/").status_code == 403
        assert logged_in(user).post(f"/users/{alice.pk}/", {"action": "deactivate"}).status_code == 403
    assert get_user_model().objects.get(pk=alice.pk).is_active


def test_it_creates_a_user_sets_roles_and_audits_each_change(alice: Any):
    client = logged_in(alice)
    refused = client.post("/users/", {"username": "erin", "password": "12345678", "roles": ["operator"]})
    assert refused.status_code == 200 and "aria-invalid" in refused.content.decode()
    assert not get_user_model().objects.filter(username="erin").exists()
    response = client.post("/users/", {"username": "erin", "password": "Kestrel-Harbour-41", "roles": ["operator"]})
    erin = get_user_model().objects.get(username="erin")
    assert response.status_code == 302 and response["Location"] == f"/users/{erin.pk}/"
    assert user_roles(erin) == {"operator"} and erin.check_password("Kestrel-Harbour-41")
    client.post(f"/users/{erin.pk}/", {"action": "roles", "roles": ["operator", "analyst"]})
    erin = get_user_model().objects.get(pk=erin.pk)
    assert user_roles(erin) == {"operator", "analyst"}
    change = AuditEvent.objects.get(verb="user_roles", object_id=str(erin.pk))
    assert change.actor_username == "alice" and change.details["from"] == "operator"
    assert change.details["to"] == "analyst, operator"
    assert AuditEvent.objects.filter(verb="user_create", object_id=str(erin.pk)).exists()
    page = client.get("/users/").content.decode()
    assert f'href="/users/{erin.pk}/"' in page and "analyst, operator" in page


def test_it_resets_a_password_revokes_the_token_and_deactivates(alice: Any, bob: Any):
    client = logged_in(alice)
    Token.objects.create(user=bob)
    client.post(f"/users/{bob.pk}/", {"action": "password", "password": "Quiet-Meadow-Lantern-7"})
    assert get_user_model().objects.get(pk=bob.pk).check_password("Quiet-Meadow-Lantern-7")
    client.post(f"/users/{bob.pk}/", {"action": "revoke_tokens"})
    assert not Token.objects.filter(user=bob).exists()
    client.post(f"/users/{bob.pk}/", {"action": "deactivate"})
    assert not get_user_model().objects.get(pk=bob.pk).is_active
    verbs = set(AuditEvent.objects.filter(object_id=str(bob.pk)).values_list("verb", flat=True))
    assert {"user_password_reset", "token_revoke", "user_deactivate"} <= verbs


def test_it_keeps_an_admin_from_locking_themselves_out(alice: Any):
    client = logged_in(alice)
    page = client.post(f"/users/{alice.pk}/", {"action": "roles", "roles": ["operator"]}).content.decode()
    assert "cannot take the admin role from yourself" in page
    page = client.post(f"/users/{alice.pk}/", {"action": "deactivate"}, follow=True).content.decode()
    assert "cannot deactivate your own account" in page
    alice = get_user_model().objects.get(pk=alice.pk)
    assert alice.is_active and "admin" in user_roles(alice)

"""The Django admin cannot bypass the services: evidence, cases and the registry are read-only there, and every
change of a user's access made there is audited with before and after."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_user
from django.contrib.auth.models import Group
from django.test import Client

from facecase.models import AuditEvent
from tests.ui_factory import make_suspect

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db: None) -> Any:
    return make_user("root", is_staff=True, is_superuser=True)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_audits_a_role_and_staff_change_made_in_the_django_admin(root: Any, bob: Any):
    operator, analyst = Group.objects.get(name="operator"), Group.objects.get(name="analyst")
    response = logged_in(root).post(f"/admin/auth/user/{bob.pk}/change/", {
        "username": "bob", "first_name": "", "last_name": "", "email": "", "is_active": "on", "is_staff": "on",
        "groups": [operator.pk, analyst.pk], "last_login_0": "", "last_login_1": "",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    })

    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.get(verb="user_access_change", object_id=str(bob.pk))
    assert event.actor == root
    assert event.details["before"] == {"groups": ["operator"], "is_staff": False, "is_superuser": False,
                                       "is_active": True}
    assert event.details["after"]["groups"] == ["analyst", "operator"] and event.details["after"]["is_staff"]


def test_it_keeps_suspects_and_evidence_read_only_in_the_django_admin(root: Any, alice: Any):
    suspect = make_suspect(alice)
    client = logged_in(root)

    assert client.get(f"/admin/suspects/suspect/{suspect.pk}/change/").status_code == 200  # shown
    refused = client.post(f"/admin/suspects/suspect/{suspect.pk}/change/", {"name": "Changed", "status": "cleared"})
    suspect.refresh_from_db()

    assert refused.status_code == 403 and suspect.name != "Changed"
    assert client.post(f"/admin/suspects/suspect/{suspect.pk}/delete/", {"post": "yes"}).status_code == 403
    for model in ("footage/footage", "footage/alert", "footage/sighting", "facecase/case", "suspects/suspectphoto"):
        assert client.get(f"/admin/{model}/add/").status_code in (403, 404), model

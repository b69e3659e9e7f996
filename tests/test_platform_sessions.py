"""Sessions and API tokens: logins are throttled per user and per address (page and /api/token/), tokens expire
(configurable, default 30 days) and can be revoked by their user and by admins (audited), and FACECASE_HTTPS=1 is
a configuration that ``manage.py check --deploy`` finds nothing wrong with."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from conftest import REPO_ROOT
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from facecase.models import AuditEvent

pytestmark = pytest.mark.django_db


def login(username: str, password: str, address: str) -> Any:
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})


def token_request(username: str, password: str, address: str = "10.0.0.9") -> Any:
    return Client(REMOTE_ADDR=address).post("/api/token/", {"username": username, "password": password})


def test_it_locks_a_username_after_five_failed_logins_from_any_address(bob: Any, settings: Any):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login("bob", "wrong", f"10.0.1.{n}").status_code == 200  # the form again, with its error
    assert login("bob", "wrong", "10.0.1.99").status_code == 429
    # The right password from yet another address no longer gets in: the username itself is locked.
    assert login("bob", "bob-pw-4711", "10.0.2.1").status_code == 429


def test_it_locks_an_address_that_tries_many_usernames(bob: Any, charlie: Any, dave: Any, settings: Any):
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(f"guess{n}", "wrong", "10.0.3.3")
    assert login("charlie", "charlie-pw-4711", "10.0.3.3").status_code == 429
    assert login("dave", "dave-pw-4711", "10.0.3.4").status_code == 302  # another address is not affected


def test_it_throttles_the_token_endpoint_like_the_login_page(charlie: Any, settings: Any):
    assert token_request("charlie", "charlie-pw-4711").status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT):
        token_request("charlie", "wrong")
    assert token_request("charlie", "charlie-pw-4711").status_code == 429
    assert login("charlie", "charlie-pw-4711", "10.0.4.4").status_code == 429  # one lockout for both doors


# Refused credentials answer 403, not 401: SessionAuthentication comes first in the API's authentication classes,
# and DRF then sends no WWW-Authenticate challenge (the same status anonymous requests get).
REFUSED = 403


def api_cases(key: str) -> int:
    return Client().get("/api/cases/", HTTP_AUTHORIZATION=f"Token {key}").status_code


def api_refusal(key: str) -> str:
    response = Client().get("/api/cases/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == REFUSED
    return response.json()["detail"]


def test_it_expires_a_token_after_its_lifetime_and_issues_a_new_one(charlie: Any, settings: Any):
    assert settings.FACECASE_TOKEN_TTL == timedelta(days=30)
    issued = token_request("charlie", "charlie-pw-4711").json()
    assert api_cases(issued["token"]) == 200
    Token.objects.filter(key=issued["token"]).update(created=timezone.now() - timedelta(days=29, hours=23))
    assert api_cases(issued["token"]) == 200
    Token.objects.filter(key=issued["token"]).update(created=timezone.now() - timedelta(days=30, seconds=1))
    assert api_refusal(issued["token"]).startswith("Token expired")
    renewed = token_request("charlie", "charlie-pw-4711").json()
    assert renewed["token"] != issued["token"] and api_cases(renewed["token"]) == 200
    assert api_refusal(issued["token"]) == "Invalid token."
    assert AuditEvent.objects.filter(verb="token_issue", object_id=str(charlie.pk)).count() == 2


def test_it_lets_a_user_revoke_their_own_token(charlie: Any):
    key = token_request("charlie", "charlie-pw-4711").json()["token"]
    response = Client().post("/api/token/revoke/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 204
    assert api_refusal(key) == "Invalid token."
    event = AuditEvent.objects.get(verb="token_revoke")
    assert (event.actor_username, event.details["by"]) == ("charlie", "self")


def test_it_lets_only_admins_revoke_someone_elses_token(alice: Any, bob: Any, charlie: Any):
    key = token_request("charlie", "charlie-pw-4711").json()["token"]
    as_bob, as_alice = Client(), Client()
    as_bob.force_login(bob)
    as_alice.force_login(alice)
    assert as_bob.post(f"/api/users/{charlie.pk}/token/revoke/").status_code == 403
    assert api_cases(key) == 200
    assert as_alice.post(f"/api/users/{charlie.pk}/token/revoke/").status_code == 204
    assert api_refusal(key) == "Invalid token."
    event = AuditEvent.objects.get(verb="token_revoke")
    assert (event.actor_username, event.details) == ("alice", {"user": "charlie", "by": "admin"})


def manage(env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "FACECASE_HTTPS")}
    env.update(SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="facecase.example", **env_extra)
    return subprocess.run([sys.executable, str(REPO_ROOT / "manage.py"), *args], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


HTTPS_PROBE = """
from django.test import Client
plain = Client().get("/login/", HTTP_HOST="facecase.example")
secure = Client().get("/login/", HTTP_HOST="facecase.example", HTTP_X_FORWARDED_PROTO="https")
print(plain.status_code, plain["Location"])
print(secure.status_code, secure["Strict-Transport-Security"], secure.cookies["csrftoken"]["secure"])
from django.conf import settings
print(settings.SESSION_COOKIE_SECURE, settings.CSRF_TRUSTED_ORIGINS)
"""


def test_it_passes_the_deploy_check_with_https_on_and_not_without(tmp_path: Any):
    var = {"FACECASE_VAR_DIR": str(tmp_path)}
    https = manage({**var, "FACECASE_HTTPS": "1"}, "check", "--deploy", "--fail-level", "WARNING")
    assert https.returncode == 0, https.stdout + https.stderr
    assert "System check identified no issues" in https.stdout
    plain = manage(var, "check", "--deploy", "--fail-level", "WARNING")
    assert plain.returncode != 0
    assert "security.W004" in plain.stderr and "security.W012" in plain.stderr  # HSTS, session cookie

    probe = manage({**var, "FACECASE_HTTPS": "1"}, "shell", "-c", HTTPS_PROBE)
    assert probe.returncode == 0, probe.stderr
    redirect, secure, cookies = probe.stdout.strip().splitlines()[-3:]
    assert redirect == "301 https://facecase.example/login/"
    assert secure == "200 max-age=31536000; includeSubDomains; preload True"
    assert cookies == "True ['https://facecase.example']"

"""The role permission matrix: every page and API endpoint of the platform, for anonymous, alice (admin),
bob (operator), charlie (analyst who owns the case), dave (analyst on another case) and mallory (no role)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from conftest import HAMILTON_CLIP, shared_file
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from footage.models import Alert, Sighting
from footage.services import footage_ingest
from suspects.services import suspect_create, suspect_photo_add

PEOPLE = ["anonymous", "alice", "bob", "charlie", "dave", "mallory"]
LOGIN = "login"  # anonymous on a page: redirected to the login page


@dataclass
class World:
    case: Any
    footage: Any
    suspect: Any
    photo: Any
    sighting: Any
    alert: Any


@pytest.fixture
def world(alice: Any, bob: Any, charlie: Any, dave: Any, mallory: Any, charlies_case: Any) -> World:
    photo_bytes = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    footage = footage_ingest(
        actor=charlie, case=charlies_case, upload=SimpleUploadedFile("still.jpg", photo_bytes, "image/jpeg")
    )
    suspect = suspect_create(actor=alice, name="Barack Obama", external_id="S-1", status="person_of_interest")
    photo = suspect_photo_add(
        actor=alice, suspect=suspect, upload=SimpleUploadedFile("obama.jpg", photo_bytes, "image/jpeg")
    )
    sighting = Sighting.objects.create(
        footage=footage, track_id=1, first_frame=0, last_frame=0, first_ts=0, last_ts=0, box=[10, 10, 50, 50],
        best_frame_index=0,
    )
    sighting.frame.save("frame.jpg", SimpleUploadedFile("frame.jpg", photo_bytes), save=True)
    alert = Alert.objects.create(footage=footage, sighting=sighting, suspect=suspect, score=0.81)
    return World(charlies_case, footage, suspect, photo, sighting, alert)


def image_upload() -> dict[str, Any]:
    data = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    return {"file": SimpleUploadedFile("upload.jpg", data, "image/jpeg")}


# (method, url template, body factory, {person: expected status}). "login" means a redirect to the login page.
ANON_API = 403
MATRIX: list[tuple[str, str, Any, dict[str, Any]]] = [
    # pages of the platform (the case, footage, alert and registry pages have their own matrix in the UI tests)
    ("get", "/", None, dict(anonymous=LOGIN, alice=200, bob=200, charlie=200, dave=200, mallory=200)),
    ("get", "/cases/new/", None, dict(anonymous=LOGIN, alice=403, bob=403, charlie=200, dave=200, mallory=403)),
    ("get", "/media/footage/{footage}/original/", None,
     dict(anonymous=LOGIN, alice=200, bob=404, charlie=200, dave=404, mallory=404)),
    ("get", "/media/sighting/{sighting}/frame/", None,
     dict(anonymous=LOGIN, alice=200, bob=200, charlie=200, dave=404, mallory=404)),
    ("get", "/media/suspect-photo/{photo}/image/", None,
     dict(anonymous=LOGIN, alice=200, bob=200, charlie=200, dave=200, mallory=404)),
    ("get", "/admin/", None, dict(anonymous=302, alice=200, bob=302, charlie=302, dave=302, mallory=302)),
    # API
    ("get", "/api/cases/", None, dict(anonymous=ANON_API, alice=200, bob=403, charlie=200, dave=200, mallory=403)),
    ("post", "/api/cases/", lambda: {"reference": "NEW-1", "title": "New"},
     dict(anonymous=ANON_API, alice=403, bob=403, charlie=201, dave=201, mallory=403)),
    ("get", "/api/cases/{case}/", None,
     dict(anonymous=ANON_API, alice=200, bob=403, charlie=200, dave=404, mallory=403)),
    ("patch", "/api/cases/{case}/", lambda: {"title": "Renamed"},
     dict(anonymous=ANON_API, alice=200, bob=403, charlie=200, dave=404, mallory=403)),
    ("get", "/api/cases/{case}/footage/", None,
     dict(anonymous=ANON_API, alice=200, bob=403, charlie=200, dave=404, mallory=403)),
    ("post", "/api/cases/{case}/footage/", image_upload,
     dict(anonymous=ANON_API, alice=403, bob=403, charlie=201, dave=404, mallory=403)),
    ("get", "/api/footage/{footage}/", None,
     dict(anonymous=ANON_API, alice=200, bob=403, charlie=200, dave=404, mallory=403)),
    ("get", "/api/footage/{footage}/log/", None,
     dict(anonymous=ANON_API, alice=200, bob=403, charlie=200, dave=404, mallory=403)),
    ("post", "/api/footage/{footage}/requeue/", lambda: {"fresh": True},  # still queued: refused as a conflict
     dict(anonymous=ANON_API, alice=403, bob=403, charlie=409, dave=404, mallory=403)),
    ("get", "/api/suspects/", None, dict(anonymous=ANON_API, alice=200, bob=200, charlie=200, dave=200, mallory=403)),
    ("post", "/api/suspects/", lambda: {"name": "Joe Biden", "external_id": "S-2", "status": "wanted"},
     dict(anonymous=ANON_API, alice=201, bob=403, charlie=403, dave=403, mallory=403)),
    ("get", "/api/suspects/{suspect}/", None,
     dict(anonymous=ANON_API, alice=200, bob=200, charlie=200, dave=200, mallory=403)),
    ("patch", "/api/suspects/{suspect}/", lambda: {"status": "cleared"},
     dict(anonymous=ANON_API, alice=200, bob=403, charlie=403, dave=403, mallory=403)),
    ("delete", "/api/suspects/{suspect}/", None,
     dict(anonymous=ANON_API, alice=409, bob=403, charlie=403, dave=403, mallory=403)),  # has an alert
    ("get", "/api/suspects/{suspect}/photos/", None,
     dict(anonymous=ANON_API, alice=200, bob=200, charlie=200, dave=200, mallory=403)),
    ("post", "/api/suspects/{suspect}/photos/",
     lambda: {"file": SimpleUploadedFile("b.png", (HAMILTON_CLIP.parent / "alex-lacamoire.png").read_bytes())},
     dict(anonymous=ANON_API, alice=201, bob=403, charlie=403, dave=403, mallory=403)),
    ("get", "/api/sightings/", None,
     dict(anonymous=ANON_API, alice=200, bob=200, charlie=200, dave=200, mallory=403)),
    ("get", "/api/sightings/{sighting}/", None,  # bob: the sighting raised an alert; dave: not his case
     dict(anonymous=ANON_API, alice=200, bob=200, charlie=200, dave=404, mallory=403)),
    ("get", "/api/alerts/", None, dict(anonymous=ANON_API, alice=200, bob=200, charlie=200, dave=200, mallory=403)),
    ("get", "/api/alerts/{alert}/", None,
     dict(anonymous=ANON_API, alice=200, bob=200, charlie=200, dave=404, mallory=403)),
    ("post", "/api/alerts/{alert}/review/", lambda: {"decision": "confirm", "note": "same scar"},
     dict(anonymous=ANON_API, alice=403, bob=200, charlie=403, dave=403, mallory=403)),
    ("get", "/api/schema/", None, dict(anonymous=ANON_API, alice=200, bob=200, charlie=200, dave=200, mallory=200)),
    ("get", "/api/docs/", None, dict(anonymous=ANON_API, alice=200, bob=200, charlie=200, dave=200, mallory=200)),
]


def client_for(person: str, request: pytest.FixtureRequest) -> Client:
    client = Client()
    if person != "anonymous":
        client.force_login(request.getfixturevalue(person))
    return client


CASES = [(method, url, body, person, expected[person]) for method, url, body, expected in MATRIX for person in PEOPLE]


@pytest.mark.parametrize(
    ("method", "url", "body", "person", "expected"), CASES,
    ids=[f"{method.upper()} {url} as {person}" for method, url, _, person, _ in CASES],
)
def test_it_enforces_the_role_matrix(
    world: World, request: pytest.FixtureRequest, method: str, url: str, body: Any, person: str, expected: Any
):
    path = url.format(case=world.case.pk, footage=world.footage.pk, suspect=world.suspect.pk,
                      photo=world.photo.pk, sighting=world.sighting.pk, alert=world.alert.pk)
    client = client_for(person, request)
    data = body() if body else None
    if method in ("patch",):
        response = client.patch(path, data, content_type="application/json")
    elif method == "post" and path.startswith("/api/") and data and "file" not in data:
        response = client.post(path, data, content_type="application/json")
    else:
        response = getattr(client, method)(path, data) if data is not None else getattr(client, method)(path)
    if expected == LOGIN:
        assert response.status_code == 302 and response["Location"].startswith("/login/"), response
    else:
        assert response.status_code == expected, getattr(response, "content", b"")[:300]


def _routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    routes = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith("admin/"):
                continue  # Django's admin enforces its own login and permissions
            routes.extend(_routes(pattern, route))
        elif isinstance(pattern, URLPattern):
            routes.append(route)
    return routes


PUBLIC_ROUTES = {"login/", "logout/", "api/token/"}


def test_it_requires_login_on_every_url_in_the_project(world: World):
    """Every route, including ones added after this test was written, refuses anonymous visitors."""
    import re

    ids = {"pk": world.footage.pk, "case_id": world.case.pk, "index": 0, "kind": "footage", "field": "original"}
    client = Client()
    checked = 0
    for route in _routes(get_resolver()):
        if route in PUBLIC_ROUTES:
            continue
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m.group(1), 1)), route)
        path = path.replace("^", "").replace("$", "")
        response = client.get(path)
        assert response.status_code in (302, 401, 403, 404, 405), f"{path}: {response.status_code}"
        if response.status_code == 302:
            assert response["Location"].startswith("/login/"), path
        checked += 1
    assert checked >= len({url for _, url, _, _ in MATRIX if not url.startswith("/admin")})


def test_it_publishes_an_openapi_schema_covering_the_api(alice: Any):
    client = Client()
    client.force_login(alice)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = set(schema["paths"])
    for expected in ["/api/cases/", "/api/cases/{case_id}/footage/", "/api/footage/{id}/log/", "/api/suspects/",
                     "/api/suspects/{id}/photos/", "/api/sightings/", "/api/sightings/{id}/", "/api/alerts/",
                     "/api/alerts/{id}/review/"]:
        assert expected in paths


def test_it_accepts_token_authentication(charlie: Any, charlies_case: Any):
    token = Client().post("/api/token/", {"username": "charlie", "password": "charlie-pw-4711"}).json()["token"]
    response = Client().get("/api/cases/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert [case["reference"] for case in response.json()["results"]] == ["CASE-1"]


def test_it_lists_only_the_cases_each_analyst_may_see(world: World, dave: Any, alice: Any):
    from facecase.services import case_create

    case_create(actor=dave, reference="CASE-2", title="Dave's case")
    as_dave, as_alice = Client(), Client()
    as_dave.force_login(dave)
    as_alice.force_login(alice)
    assert [c["reference"] for c in as_dave.get("/api/cases/").json()["results"]] == ["CASE-2"]
    assert {c["reference"] for c in as_alice.get("/api/cases/").json()["results"]} == {"CASE-1", "CASE-2"}
    assert as_dave.get("/api/alerts/").json()["count"] == 0

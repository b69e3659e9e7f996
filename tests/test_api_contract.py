"""The REST API's contract, outside the fuzzer: the committed schema is the served one, errors under /api/ are JSON
in one of two shapes, pagination and query parameters are checked, and the statuses the fuzzer cannot reach on
its own (413, 500) answer as declared."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from asgiref.sync import async_to_sync
from conftest import REPO_ROOT
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory

from facecase.api_errors import handler500
from facecase.api_pagination import MAX_LIMIT
from facecase.services import case_create

pytestmark = pytest.mark.django_db

COMMITTED_SCHEMA = REPO_ROOT / "docs" / "openapi.yaml"
REGENERATE = "python manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_serves_exactly_the_committed_schema(charlie: Any):
    served = logged_in(charlie).get("/api/schema/").content.decode()
    committed = COMMITTED_SCHEMA.read_text()
    if yaml.safe_load(served) != yaml.safe_load(committed):
        diff = "".join(difflib.unified_diff(committed.splitlines(True), served.splitlines(True),
                                            "docs/openapi.yaml (committed)", "/api/schema/ (served)", n=2))
        pytest.fail(f"the API changed: review the diff and regenerate the file with `{REGENERATE}`\n{diff[:8000]}")


def test_it_declares_every_error_status_with_a_json_body():
    schema = yaml.safe_load(COMMITTED_SCHEMA.read_text())
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path != "/api/token/":
                assert "403" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
                assert "400" in responses, (method, path)
            for code, response in responses.items():
                if code >= "400":
                    assert "application/json" in response.get("content", {}), (method, path, code)
    review = schema["paths"]["/api/alerts/{id}/review/"]["post"]["responses"]
    requeue = schema["paths"]["/api/footage/{id}/requeue/"]["post"]["responses"]
    assert "409" in review and "409" in requeue
    reviewed_by = schema["components"]["schemas"]["AlertOutput"]["properties"]["reviewed_by"]
    assert reviewed_by.get("nullable") is True


@pytest.mark.parametrize("path", ["/api/suspects/null,null/", "/api/no-such-endpoint/", "/api/cases/1/nothing/"])
def test_it_answers_an_unknown_api_url_with_a_json_404(alice: Any, path: str):
    response = logged_in(alice).delete(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_it_still_answers_an_unknown_page_with_the_sites_html_404(alice: Any):
    response = logged_in(alice).get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_it_answers_an_unsupported_method_with_a_json_405(charlie: Any):
    response = logged_in(charlie).put("/api/cases/", {}, content_type="application/json")
    assert response.status_code == 405
    assert "PUT" in response.json()["detail"]


def test_it_answers_a_body_that_is_not_json_with_a_detail(charlie: Any):
    client = logged_in(charlie)
    broken = client.post("/api/cases/", "{not json", content_type="application/json")
    assert broken.status_code == 400 and "JSON parse error" in broken.json()["detail"]
    form = client.post("/api/cases/", "reference=X&title=Y", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415 and "detail" in form.json()


def test_it_answers_a_server_error_under_the_api_in_json_and_elsewhere_with_the_html_page():
    factory = RequestFactory()
    api = handler500(factory.get("/api/cases/"))
    assert api.status_code == 500 and api["Content-Type"] == "application/json"
    assert "detail" in json.loads(api.content)
    page = handler500(factory.get("/cases/"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("path", "content_type"), [("/api/cases/1/footage/", b"application/json"),
                                                   ("/cases/1/upload/", b"text/plain; charset=utf-8")])
def test_it_refuses_an_oversized_upload_under_the_api_with_a_json_413(settings: Any, path: str, content_type: bytes):
    from channels.testing import HttpCommunicator

    from facecase.asgi import application

    settings.FACECASE_MAX_UPLOAD_BYTES = 1000
    declared = str(5 * 1024**3).encode()
    communicator = HttpCommunicator(application, "POST", path, body=b"", headers=[(b"content-length", declared)])
    response = async_to_sync(communicator.get_response)(timeout=10)
    assert response["status"] == 413
    assert dict(response["headers"])[b"content-type"] == content_type
    if content_type == b"application/json":
        assert "more than the upload limit of 1000 bytes" in json.loads(response["body"])["detail"]


@pytest.mark.parametrize(("query", "field"), [
    (f"limit={MAX_LIMIT + 1}", "limit"), ("limit=28019822511476760610078720", "limit"), ("limit=0", "limit"),
    ("limit=abc", "limit"), ("limit=1.0", "limit"), ("limit=5&limit=6", "limit"), ("offset=-1", "offset"),
    ("offset=99999999999999999999", "offset"), ("offset=false", "offset"),
])
def test_it_refuses_a_bad_page_request_with_a_400_naming_the_parameter(charlie: Any, query: str, field: str):
    response = logged_in(charlie).get(f"/api/cases/?{query}")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


def test_it_pages_within_the_limits(charlie: Any):
    for n in range(3):
        case_create(actor=charlie, reference=f"C-{n}", title=f"case {n}")
    page = logged_in(charlie).get("/api/cases/?limit=2&offset=1&status=ignored-not-a-parameter").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["previous"] is not None
    assert logged_in(charlie).get(f"/api/cases/?limit={MAX_LIMIT}").status_code == 200


@pytest.mark.parametrize(("url", "field"), [
    ("/api/alerts/?status=archived", "status"), ("/api/alerts/?status=new&status=dismissed", "status"),
    ("/api/footage/{footage}/log/?after=null", "after"), ("/api/footage/{footage}/log/?after=-1", "after"),
    ("/api/sightings/?matched=yes", "matched"), ("/api/sightings/?case=1.0", "case"),
    ("/api/sightings/?created_after=yesterday", "created_after"),
])
def test_it_refuses_query_parameters_the_schema_does_not_allow(alice: Any, charlie: Any, charlies_case: Any,
                                                               url: str, field: str):
    from footage.services import footage_ingest

    footage = footage_ingest(actor=charlie, case=charlies_case,
                             upload=SimpleUploadedFile("x.png", _png_bytes(), "image/png"))
    response = logged_in(alice).get(url.format(footage=footage.pk))  # ids are not reused on PostgreSQL
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


@pytest.mark.parametrize("bound", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-01-01t00:00:00z",
                                   "2026-01-01T00:00:00.123456789+02:00"])
def test_it_takes_any_rfc3339_date_time_as_a_time_bound(charlie: Any, bound: str):
    from urllib.parse import quote

    for name in ("created_after", "created_before"):
        assert logged_in(charlie).get(f"/api/sightings/?{name}={quote(bound)}").status_code == 200


def _png_bytes() -> bytes:
    import cv2
    from skimage.data import astronaut

    return cv2.imencode(".png", astronaut()[:, :, ::-1])[1].tobytes()


def test_it_answers_a_duplicate_reference_with_a_409_and_text_fields_only_as_strings(charlie: Any, alice: Any):
    client = logged_in(charlie)
    assert client.post("/api/cases/", {"reference": "R-1", "title": "one"}, content_type="application/json"
                       ).status_code == 201
    duplicate = client.post("/api/cases/", {"reference": " R-1 ", "title": "two"}, content_type="application/json")
    assert duplicate.status_code == 409 and "reference" in duplicate.json()["detail"].lower()
    number = client.post("/api/cases/", {"reference": 7, "title": "three"}, content_type="application/json")
    assert number.status_code == 400 and list(number.json()) == ["reference"]
    blank = client.post("/api/cases/", {"reference": "   ", "title": "x"}, content_type="application/json")
    assert blank.status_code == 400 and list(blank.json()) == ["reference"]
    admin = logged_in(alice)
    assert admin.post("/api/suspects/", {"name": "A", "external_id": "X-1"}, content_type="application/json"
                      ).status_code == 201
    assert admin.post("/api/suspects/", {"name": "B", "external_id": "X-1"}, content_type="application/json"
                      ).status_code == 409


def test_it_states_the_conflict_of_a_requeue_as_a_detail(charlie: Any, charlies_case: Any):
    from footage.services import footage_ingest

    footage = footage_ingest(actor=charlie, case=charlies_case,
                             upload=SimpleUploadedFile("x.png", _png_bytes(), "image/png"))
    client = logged_in(charlie)
    for not_a_boolean in (1, "yes", "true", None):
        refused = client.post(f"/api/footage/{footage.pk}/requeue/", {"fresh": not_a_boolean},
                              content_type="application/json")
        assert refused.status_code == 400 and list(refused.json()) == ["fresh"], not_a_boolean
    response = client.post(f"/api/footage/{footage.pk}/requeue/", {"fresh": True}, content_type="application/json")
    assert response.status_code == 409
    assert response.json() == {"detail": "footage is queued; only done or failed footage can be queued again"}


def test_the_readme_says_how_to_regenerate_the_schema():
    assert REGENERATE in Path(REPO_ROOT / "README.md").read_text()


def test_it_follows_the_schema_links_from_a_new_case_to_its_footage(charlie: Any):
    """The chain a fuzzer rarely completes (its random upload bytes are no image): create a case, upload footage
    through the case's `UploadFootage` link, then read it through the footage's `GetFootage` and `GetFootageLog`
    links, each link resolved from the committed schema (operationId -> path, `$response.body#/id` -> parameter)."""
    schema = yaml.safe_load(COMMITTED_SCHEMA.read_text())
    operations = {operation["operationId"]: (path, method) for path, methods in schema["paths"].items()
                  for method, operation in methods.items()}

    def follow(path: str, method: str, status: str, name: str, body: dict[str, Any]) -> tuple[str, str]:
        link = schema["paths"][path][method]["responses"][status]["links"][name]
        target, target_method = operations[link["operationId"]]
        for parameter, expression in link["parameters"].items():
            assert expression == "$response.body#/id"
            target = target.replace(f"{{{parameter}}}", str(body["id"]))
        return target, target_method

    client = logged_in(charlie)
    case = client.post("/api/cases/", {"reference": "LINK-1", "title": "linked"}, content_type="application/json")
    assert case.status_code == 201
    upload_url, method = follow("/api/cases/", "post", "201", "UploadFootage", case.json())
    assert method == "post"
    footage = client.post(upload_url, {"file": SimpleUploadedFile("still.png", _png_bytes(), "image/png")})
    assert footage.status_code == 201, footage.content
    read_url, method = follow("/api/cases/{case_id}/footage/", "post", "201", "GetFootage", footage.json())
    assert method == "get" and client.get(read_url).json()["sha256"] == footage.json()["sha256"]
    log_url, _ = follow("/api/cases/{case_id}/footage/", "post", "201", "GetFootageLog", footage.json())
    assert client.get(log_url).status_code == 200
    case_url, _ = follow("/api/cases/", "post", "201", "GetCase", case.json())
    assert client.get(case_url).json()["reference"] == "LINK-1"

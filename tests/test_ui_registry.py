"""The admin pages: the suspect registry with its inline face check, audited status changes, photo removal,
bulk zip import (same behaviour as ``import_suspects``), and the audit log with filters and CSV export."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import files_under
from django.test import Client

from facecase.models import AuditEvent
from suspects.face_check import check_path
from suspects.models import Suspect, SuspectPhoto
from tests.ui_factory import astronaut, face_photo, jpeg, make_suspect, no_face_photo, two_face_photo

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_refuses_a_photo_without_a_face_and_saves_nothing(alice: Any, private_media: Path):
    response = logged_in(alice).post("/suspects/new/", {
        "name": "Ann Example", "external_id": "W-7", "status": "wanted", "notes": "", "photo": no_face_photo(),
    })
    assert response.status_code == 200
    page = response.content.decode()
    assert "No face found in this photo." in page and 'class="field-error"' in page
    assert Suspect.objects.count() == 0 and files_under(private_media) == []


def test_it_adds_a_suspect_with_a_one_face_photo(alice: Any):
    response = logged_in(alice).post("/suspects/new/", {
        "name": "Eileen Collins", "external_id": "W-1", "status": "wanted", "notes": "", "photo": face_photo(),
    }, follow=True)
    suspect = Suspect.objects.get()
    assert response.redirect_chain[-1][0] == f"/suspects/{suspect.pk}/"
    assert "Photo astronaut.jpg added: one face found." in response.content.decode()
    assert suspect.photos.count() == 1
    assert AuditEvent.objects.filter(verb="create", object_id=str(suspect.pk)).exists()


def test_it_asks_which_face_when_a_photo_holds_two(alice: Any):
    suspect = make_suspect(alice, photo=False)
    client = logged_in(alice)
    response = client.post(f"/suspects/{suspect.pk}/photos/", {"photo": two_face_photo()})
    photo = SuspectPhoto.objects.get()
    assert response["Location"] == f"/suspects/photos/{photo.pk}/face/"
    choose = client.get(response["Location"]).content.decode()
    assert "2 faces found — choose Eileen Collins" in choose and choose.count('class="face-choice"') == 2
    detail = client.get(f"/suspects/{suspect.pk}/").content.decode()
    assert "2 faces found — choose the suspect&#x27;s face." in detail
    faces = check_path(photo.image.path).faces
    right = next(i for i, face in enumerate(faces) if face[0] > astronaut().shape[1])
    client.post(f"/suspects/photos/{photo.pk}/face/", {"face": str(right)})
    photo.refresh_from_db()
    assert photo.face_box == list(faces[right])  # the right-hand face of the side-by-side pair
    assert AuditEvent.objects.get(verb="choose_face").details["box"] == photo.face_box


def test_it_shows_the_face_check_beside_the_photo_field(alice: Any):
    suspect = make_suspect(alice, photo=False)
    page = logged_in(alice).post(f"/suspects/{suspect.pk}/photos/", {"photo": no_face_photo()}).content.decode()
    assert '<div class="field has-error">' in page and "No face found in this photo." in page
    assert SuspectPhoto.objects.count() == 0


def test_it_audits_a_status_change_with_its_reason(alice: Any):
    suspect = make_suspect(alice, photo=False)
    logged_in(alice).post(f"/suspects/{suspect.pk}/", {
        "name": suspect.name, "external_id": suspect.external_id, "status": "cleared", "notes": "",
        "reason": "Acquitted on 2026-11-02",
    })
    suspect.refresh_from_db()
    assert suspect.status == "cleared"
    change = AuditEvent.objects.get(verb="status_change", object_id=str(suspect.pk))
    assert change.details == {"from": "wanted", "to": "cleared", "reason": "Acquitted on 2026-11-02"}
    assert change.actor == alice


def test_it_shows_field_errors_when_an_edit_is_invalid(alice: Any):
    make_suspect(alice, name="Other", external_id="W-2", photo=False)
    suspect = make_suspect(alice, photo=False)
    page = logged_in(alice).post(f"/suspects/{suspect.pk}/", {
        "name": "", "external_id": "W-2", "status": "wanted", "notes": ""}).content.decode()
    assert page.count('class="field-error"') == 2  # name required, external id taken
    assert Suspect.objects.get(pk=suspect.pk).name == "Eileen Collins"


def test_it_removes_a_photo_and_its_file(alice: Any, django_capture_on_commit_callbacks: Any):
    suspect = make_suspect(alice)
    photo = suspect.photos.get()
    stored = Path(photo.image.path)
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(alice).post(f"/suspects/photos/{photo.pk}/remove/")
    assert response.status_code == 302
    assert SuspectPhoto.objects.count() == 0 and not stored.exists()
    assert AuditEvent.objects.get(verb="remove_photo").details["sha256"] == photo.sha256


def _zip(entries: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    buffer.seek(0)
    buffer.name = "suspects.zip"
    return buffer


def test_it_imports_a_zip_like_the_command_and_twice_adds_nothing(alice: Any):
    face = jpeg(astronaut())
    archive = {
        "export/suspects.json": b'[{"name": "Eileen Collins", "id": "W-100", "status": "wanted"}]',
        "export/eileen_collins/1.jpg": face,
        "export/john_doe/a.jpg": jpeg(astronaut()[::-1].copy()),
        "export/john_doe/readme.txt": b"ignored",
    }
    client = logged_in(alice)
    first = client.post("/suspects/import/", {"archive": _zip(archive)}).content.decode()
    assert "imported 2 new suspects and 2 new photos from suspects.zip" in first
    assert set(Suspect.objects.values_list("external_id", "status")) == {("W-100", "wanted"),
                                                                         ("john_doe", "person_of_interest")}
    second = client.post("/suspects/import/", {"archive": _zip(archive)}).content.decode()
    assert "imported 0 new suspects and 0 new photos" in second
    assert AuditEvent.objects.filter(verb="bulk_import").count() == 2


def test_it_refuses_an_archive_that_escapes_its_folder(alice: Any):
    page = logged_in(alice).post("/suspects/import/", {"archive": _zip({"../evil/1.jpg": b"x"})}).content.decode()
    assert "unsafe path in archive: ../evil/1.jpg" in page
    not_zip = io.BytesIO(b"plain text")
    not_zip.name = "list.zip"
    assert "this file is not a zip archive" in logged_in(alice).post(
        "/suspects/import/", {"archive": not_zip}).content.decode()
    assert Suspect.objects.count() == 0


def test_it_lists_suspects_with_thumbnails_status_and_search(alice: Any):
    make_suspect(alice)
    make_suspect(alice, name="Franz Kafka", external_id="W-2", status="missing", photo=False)
    client = logged_in(alice)
    page = client.get("/suspects/").content.decode()
    assert "/media/suspect-photo/" in page and "needs a photo" in page and "Missing" in page
    assert [s.name for s in client.get("/suspects/?q=kafka").context["page"]] == ["Franz Kafka"]
    assert [s.name for s in client.get("/suspects/?status=wanted").context["page"]] == ["Eileen Collins"]


def test_it_filters_the_audit_log_and_exports_it_as_csv(alice: Any, charlie: Any, charlies_case: Any):
    make_suspect(alice, photo=False)
    client = logged_in(alice)
    by_charlie = client.get("/audit/?actor=charlie").context["page"].object_list
    assert {(e.verb, e.object_type) for e in by_charlie} == {("create", "facecase.case")}
    suspects_only = client.get("/audit/?object_type=suspects.suspect").context["page"].object_list
    assert {e.actor_username for e in suspects_only} == {"alice"}
    assert client.get("/audit/?date_to=2000-01-01").context["page"].paginator.count == 0
    response = client.get("/audit/?verb=create&format=csv")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["created_at", "actor", "verb", "object_type", "object_id", "details"]
    assert sorted((r[1], r[3]) for r in rows[1:]) == [("alice", "suspects.suspect"), ("charlie", "facecase.case")]

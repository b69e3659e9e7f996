"""Hostile and broken input: every file of the corpus (``tests/media_corpus.py``, made here) ends in a clear 4xx or in
a job that finishes (done, or failed with a reason a person understands): never a 500, never a stuck job, no rows
for what was refused, no file outside private storage, and the worker goes on to the next job.

The uploads go through the REST API (and the web pages for archives); accepted footage runs the job in this process
(``footage.tasks.process_footage``), and once through a real worker with a good clip queued behind them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import files_under, wait_for
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from facecase.models import AuditEvent
from footage.models import Footage, JobLogLine, Sighting
from footage.tasks import process_footage
from suspects.models import Suspect, SuspectPhoto
from tests.media_corpus import (
    HOSTILE_NAMES,
    Hostile,
    astronaut_jpeg,
    hostile_footage,
    hostile_zips,
    make_master,
    need_ffmpeg,
)

HOSTILE = hostile_footage()
ZIPS = hostile_zips()


def logged_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)  # a crash must show as the 500 a browser would get
    client.force_login(user)
    return client


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    need_ffmpeg()
    folder = tmp_path_factory.mktemp("hostile")
    clip = folder / "clip.mp4"
    from tests.media_corpus import X264, ffmpeg

    ffmpeg("-i", str(make_master(folder)), *X264, str(clip))
    return {"clip": clip, "folder": folder}


def upload(client: Client, case_id: int, name: str, content: bytes) -> Any:
    return client.post(f"/api/cases/{case_id}/footage/", {"file": SimpleUploadedFile(name, content)})


def import_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("facecase-import-*")}


def assert_only_originals_stored(private_media: Path) -> None:
    """Private storage holds the originals of accepted footage (and what their jobs derived), nothing half-written,
    nothing from a refused upload."""
    stored = {str(p.relative_to(private_media)) for p in files_under(private_media)}
    originals = {f.original.name for f in Footage.objects.all()}
    assert originals <= stored
    leftovers = {name for name in stored - originals
                 if not name.startswith(("sightings/", "analysis/", "explanations/", "registry/"))}
    assert leftovers == set(), leftovers


@pytest.mark.django_db
@pytest.mark.parametrize("item", HOSTILE, ids=[h.name for h in HOSTILE])
def test_it_ends_every_hostile_footage_upload_clearly(
        charlie: Any, charlies_case: Any, private_media: Path, scratch: dict[str, Path], item: Hostile):
    response = upload(logged_in(charlie), charlies_case.pk, item.name, item.make(scratch))
    assert response.status_code != 500
    if item.outcome == "refused":
        assert response.status_code in (400, 413), response.content
        assert any(item.reason in message for message in response.json()["file"]), response.json()
        assert Footage.objects.count() == 0 and not AuditEvent.objects.filter(verb="upload").exists()
        assert files_under(private_media) == []
        return
    assert response.status_code == 201, response.content
    footage_id = response.json()["id"]
    assert process_footage(footage_id) == item.outcome, Footage.objects.get(pk=footage_id).error
    footage = Footage.objects.get(pk=footage_id)
    assert footage.progress == 100 or footage.status == "failed"
    if item.outcome == "failed":
        assert item.reason in footage.error
        assert JobLogLine.objects.filter(footage=footage, level="error", message__contains=item.reason).exists()
    if item.sightings:
        assert Sighting.objects.filter(footage=footage).exists()
    assert_only_originals_stored(private_media)


REFUSED = [h for h in HOSTILE if h.outcome == "refused"]


@pytest.mark.django_db
@pytest.mark.parametrize("item", REFUSED, ids=[h.name for h in REFUSED])
def test_it_gives_the_web_upload_form_the_same_refusal(
        charlie: Any, charlies_case: Any, private_media: Path, scratch: dict[str, Path], item: Hostile):
    response = logged_in(charlie).post(f"/cases/{charlies_case.pk}/upload/",
                                       {"file": SimpleUploadedFile(item.name, item.make(scratch))},
                                       HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and item.reason in response.json()["error"], response.content
    assert Footage.objects.count() == 0 and files_under(private_media) == []


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(HOSTILE_NAMES))
def test_it_stores_a_file_under_any_name_inside_private_storage(
        charlie: Any, charlies_case: Any, private_media: Path, kind: str):
    response = upload(logged_in(charlie), charlies_case.pk, HOSTILE_NAMES[kind], astronaut_jpeg())
    assert response.status_code == 201, response.content
    footage = Footage.objects.get()
    name = footage.original_name
    assert 0 < len(name) <= 255 and name.endswith(".jpg")
    assert "/" not in name and "\\" not in name and not any(ord(c) < 32 or c == "\u202e" for c in name)
    path = Path(footage.original.path).resolve()
    assert path.parent == (private_media / f"footage/case-{charlies_case.pk}").resolve()
    assert files_under(private_media) == [path]
    page = logged_in(charlie).get(f"/footage/{footage.pk}/")
    assert page.status_code == 200 and "<script" not in name


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(ZIPS))
def test_it_refuses_a_hostile_bulk_import_and_keeps_nothing(alice: Any, private_media: Path, kind: str):
    make, reason = ZIPS[kind]
    before = import_dirs()
    response = logged_in(alice).post("/suspects/import/", {"archive": SimpleUploadedFile(f"{kind}.zip", make())})
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert Suspect.objects.count() == 0 and SuspectPhoto.objects.count() == 0
    assert not AuditEvent.objects.filter(verb="bulk_import").exists()
    assert files_under(private_media) == [] and import_dirs() == before


@pytest.mark.django_db
def test_it_still_imports_a_good_archive(alice: Any):
    """The refusals above are about the archives, not the feature: a plain archive still imports."""
    from tests.media_corpus import zip_of

    archive = zip_of({"ann_example/a.jpg": astronaut_jpeg()})
    response = logged_in(alice).post("/suspects/import/", {"archive": SimpleUploadedFile("good.zip", archive)})
    assert response.status_code == 200 and "imported 1 new suspects and 1 new photos" in response.content.decode()
    assert Suspect.objects.get().photos.count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_finishes_every_accepted_hostile_file_in_a_real_worker_and_then_the_next_job(
        live_worker: Any, charlie: Any, charlies_case: Any, scratch: dict[str, Path]):
    client = logged_in(charlie)
    accepted = [h for h in HOSTILE if h.outcome != "refused"]
    ids = {}
    for item in accepted:
        response = upload(client, charlies_case.pk, item.name, item.make(scratch))
        assert response.status_code == 201, response.content
        ids[item.name] = response.json()["id"]
    good = upload(client, charlies_case.pk, "after.mp4", scratch["clip"].read_bytes()).json()["id"]

    every = [*ids.values(), good]
    wait_for(lambda: Footage.objects.filter(pk__in=every, status__in=["done", "failed"]).count() == len(every),
             timeout_s=900, what="every hostile file and the good clip behind them to finish", worker=live_worker)
    finished = Footage.objects.get(pk=good)
    assert finished.status == "done", finished.error
    assert Sighting.objects.filter(footage=finished).exists()
    for item in accepted:
        footage = Footage.objects.get(pk=ids[item.name])
        assert footage.status == item.outcome, (item.name, footage.status, footage.error)
        if item.outcome == "failed":
            assert item.reason in footage.error
    assert live_worker.poll() is None  # the worker survived all of it

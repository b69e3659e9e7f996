"""The registry page says which version alerts are matched against, whether changes wait to be built, and how the
newest rebuild went; a rebuild that cannot be queued is shown there, and admins can ask for one."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import SHARED_DATA, shared_file
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_q.conf import Conf

from facecase.models import AuditEvent
from footage.models import Footage, JobLogLine
from footage.services import footage_ingest
from footage.tasks import process_footage
from suspects.enrolment import registry_rebuild_task
from suspects.gallery import registry_rebuild
from suspects.models import RegistryRebuild
from suspects.services import suspect_create, suspect_photo_add
from tests.ui_factory import astronaut, face_photo, jpeg

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def unread_queue(monkeypatch: Any) -> None:
    """These stories look at rebuild requests while they wait in the queue: send them to a queue no worker reads
    (the session's worker, started by other tests, would otherwise run them)."""
    monkeypatch.setattr(Conf, "PREFIX", f"{Conf.PREFIX}-unread")
    monkeypatch.setattr(Conf, "CLUSTER_NAME", f"{Conf.CLUSTER_NAME}-unread")


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def enrol_one(actor: Any) -> Any:
    suspect = suspect_create(actor=actor, name="Eileen Collins", external_id="S-1", status="wanted")
    suspect_photo_add(actor=actor, suspect=suspect, upload=face_photo())
    return suspect


def test_it_queues_a_rebuild_when_a_photo_is_added_and_shows_it_waiting(alice: Any):
    enrol_one(alice)

    queued = RegistryRebuild.objects.get()
    page = logged_in(alice).get("/suspects/").content.decode()

    assert queued.status == "queued" and "photo" in queued.reason
    assert "No registry built yet" in page and "Changes waiting: 1 photo to enrol" in page
    assert "Rebuild queued since" in page


def test_it_runs_a_queued_rebuild_once_and_records_the_version(alice: Any):
    enrol_one(alice)
    request = RegistryRebuild.objects.get()

    assert registry_rebuild_task(request.pk) == "v1"
    assert registry_rebuild_task(request.pk).startswith("not queued")  # a second delivery changes nothing

    request.refresh_from_db()
    page = logged_in(alice).get("/suspects/").content.decode()
    assert request.status == "done" and request.version.number == 1
    assert "registry v1" in page and "Up to date" in page and "Last rebuild done" in page


def test_it_shows_a_rebuild_that_could_not_be_queued(alice: Any, monkeypatch: Any):
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")  # nothing listens there

    enrol_one(alice)

    failed = RegistryRebuild.objects.get()
    page = logged_in(alice).get("/suspects/").content.decode()
    assert failed.status == "failed" and "could not be queued" in failed.error
    assert "The last rebuild failed: could not be queued" in page


def test_it_lets_an_admin_ask_for_a_rebuild_and_audits_it(alice: Any, bob: Any):
    assert logged_in(bob).post("/suspects/rebuild/").status_code in (403, 404)
    assert not RegistryRebuild.objects.exists()

    response = logged_in(alice).post("/suspects/rebuild/")

    assert response.status_code == 302
    request = RegistryRebuild.objects.get()
    assert request.requested_by == alice and request.status == "queued"
    assert AuditEvent.objects.filter(verb="registry_rebuild_request", actor=alice).exists()


def test_it_says_in_the_job_log_when_footage_is_analysed_before_a_rebuild(alice: Any, charlie: Any,
                                                                          charlies_case: Any):
    enrol_one(alice)
    registry_rebuild(reason="first build")
    suspect = suspect_create(actor=alice, name="Second", external_id="S-2")
    lfw = shared_file(SHARED_DATA / "lfw" / "images_deepfunneled" / "Tony_Blair" / "Tony_Blair_0001.jpg")
    suspect_photo_add(actor=alice, suspect=suspect, upload=SimpleUploadedFile(lfw.name, lfw.read_bytes()))

    footage = footage_ingest(actor=charlie, case=charlies_case,
                             upload=SimpleUploadedFile("still.jpg", jpeg(astronaut())))
    assert process_footage(footage.pk) == "done", Footage.objects.get(pk=footage.pk).error

    log = list(JobLogLine.objects.filter(footage=footage).values_list("message", flat=True))
    assert any("registry changes were waiting to be built" in line and "registry v1" in line for line in log), log


def test_it_forgets_a_deleted_suspect_on_disk_and_in_the_next_gallery(alice: Any, private_media: Any):
    from suspects.gallery import load_gallery
    from suspects.services import suspect_delete

    suspect = enrol_one(alice)
    suspect_id = suspect.pk
    first = registry_rebuild(reason="first build")
    photo = suspect.photos.get()
    files = [private_media / photo.image.name, private_media / photo.crop.name]
    assert all(path.exists() for path in files) and str(suspect.pk) in first.details["labels"]

    suspect_delete(actor=alice, suspect=suspect)

    assert not any(path.exists() for path in files)
    queued = RegistryRebuild.objects.filter(status="queued").first()
    assert queued is not None and f"suspect {suspect_id} removed" in queued.reason  # added to the waiting one
    assert registry_rebuild_task(queued.pk) == "v2"
    gallery = load_gallery(RegistryRebuild.objects.get(pk=queued.pk).version)
    assert gallery is None or str(suspect_id) not in gallery.labels
    assert AuditEvent.objects.filter(verb="delete", object_id=str(suspect_id)).exists()
    assert not [p for p in (private_media / "suspects" / str(suspect_id)).rglob("*") if p.is_file()]

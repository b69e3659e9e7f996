"""Footage ingest: a real upload goes through a real qcluster worker to a probed, done row; bad uploads are
refused with a clear reason and leave nothing behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import pytest
from conftest import HAMILTON_CLIP, files_under, shared_file, wait_for
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from facecase.files import IntegrityError
from facecase.models import AuditEvent
from footage.models import Footage, JobLogLine
from footage.processing import probe_footage
from footage.tasks import process_footage


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, case_id: int, name: str, content: bytes, content_type: str = "video/mp4") -> Any:
    return client.post(
        f"/api/cases/{case_id}/footage/", {"file": SimpleUploadedFile(name, content, content_type=content_type)}
    )


def truncated_avi(tmp_path: Path, frames: int = 60) -> bytes:
    """An MJPG AVI of the clip's first frames, cut in half: it opens and decodes a frame (so ingest accepts
    it) but its header promises more frames than decode, as a copy interrupted mid-transfer would."""
    source = cv2.VideoCapture(str(shared_file(HAMILTON_CLIP)))
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 29.97, (640, 360))
    for _ in range(frames):
        ok, frame = source.read()
        assert ok
        writer.write(frame)
    writer.release()
    source.release()
    data = path.read_bytes()
    return data[: len(data) // 2]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_probes_an_uploaded_video_to_done_in_a_real_worker(live_worker: Any, charlie: Any, charlies_case: Any):
    clip = shared_file(HAMILTON_CLIP).read_bytes()
    response = upload(logged_in(charlie), charlies_case.pk, "platform2.mp4", clip)
    assert response.status_code == 201, response.content
    footage_id = response.json()["id"]

    footage = wait_for(
        lambda: Footage.objects.filter(pk=footage_id, status__in=["done", "failed"]).first(),
        timeout_s=180, what="the worker to finish the footage", worker=live_worker,
    )
    assert footage.status == "done", footage.error
    assert (footage.width, footage.height) == (640, 360)
    assert footage.fps == pytest.approx(29.97, abs=0.01)
    assert footage.frame_count == 275
    assert footage.duration == pytest.approx(275 / 29.97, abs=0.01)
    assert footage.progress == 100
    assert footage.kind == "video" and footage.content_type == "video/mp4"
    assert footage.size == len(clip)
    messages = list(JobLogLine.objects.filter(footage=footage).values_list("message", flat=True))
    assert any("SHA-256 verified" in m for m in messages)
    assert any("640x360" in m and "275 frames" in m for m in messages)
    assert messages[-1] == "done"
    verbs = set(AuditEvent.objects.filter(object_id=str(footage_id)).values_list("verb", flat=True))
    assert {"upload", "processed"} <= verbs

    # The log is readable through the API, in order.
    log = logged_in(charlie).get(f"/api/footage/{footage_id}/log/").json()
    assert [line["seq"] for line in log] == sorted(line["seq"] for line in log)

    # Running the task again changes nothing: the row is no longer queued.
    assert process_footage(footage_id) == "skipped:done"
    assert JobLogLine.objects.filter(footage=footage).count() == len(messages)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_fails_a_truncated_video_in_the_worker_with_the_reason(
    live_worker: Any, charlie: Any, charlies_case: Any, tmp_path: Path
):
    response = upload(logged_in(charlie), charlies_case.pk, "cut.avi", truncated_avi(tmp_path), "video/x-msvideo")
    assert response.status_code == 201, response.content
    footage = wait_for(
        lambda: Footage.objects.filter(pk=response.json()["id"], status__in=["done", "failed"]).first(),
        timeout_s=180, what="the worker to finish the footage", worker=live_worker,
    )
    assert footage.status == "failed"
    assert "truncated or damaged" in footage.error and "declares 60 frames" in footage.error
    assert JobLogLine.objects.filter(footage=footage, level="error").exists()


def half_of_the_clip() -> bytes:
    clip = shared_file(HAMILTON_CLIP).read_bytes()
    return clip[: len(clip) // 2]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("cut.mp4", half_of_the_clip, "not a readable video"),
        ("notes.mp4", lambda: b"Witness statement: the man wore a red cap.\n" * 50, "not a readable video"),
        ("empty.mp4", lambda: b"", "file is empty"),
    ],
    ids=["truncated-mp4", "text-named-mp4", "empty-file"],
)
def test_it_refuses_unreadable_uploads_and_leaves_nothing(
    charlie: Any, charlies_case: Any, private_media: Path, name: str, content: Any, reason: str
):
    response = upload(logged_in(charlie), charlies_case.pk, name, content())
    assert response.status_code == 400
    assert any(reason in message for message in response.json()["file"]), response.json()
    assert Footage.objects.count() == 0
    assert files_under(private_media) == []
    assert not AuditEvent.objects.filter(verb="upload").exists()


def test_it_refuses_an_upload_over_the_size_limit(charlie: Any, charlies_case: Any, private_media: Path, settings):
    settings.FACECASE_MAX_UPLOAD_BYTES = 100_000
    response = upload(logged_in(charlie), charlies_case.pk, "big.mp4", shared_file(HAMILTON_CLIP).read_bytes())
    assert response.status_code == 413
    assert "larger than the upload limit of 100000 bytes" in response.json()["detail"]
    assert Footage.objects.count() == 0
    assert files_under(private_media) == []


def test_it_says_why_in_the_web_form_too(charlie: Any, charlies_case: Any, private_media: Path):
    client = logged_in(charlie)
    response = client.post(
        f"/cases/{charlies_case.pk}/upload/",
        {"file": SimpleUploadedFile("notes.mp4", b"just text", content_type="video/mp4")}, follow=True,
    )
    assert "Upload refused (notes.mp4): not a readable video" in response.content.decode()
    assert Footage.objects.count() == 0
    assert files_under(private_media) == []


def test_it_accepts_a_still_image_by_content_whatever_its_name(charlie: Any, charlies_case: Any):
    photo = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    response = upload(logged_in(charlie), charlies_case.pk, "frame.mp4", photo)
    assert response.status_code == 201
    footage = Footage.objects.get()
    assert (footage.kind, footage.content_type, footage.status) == ("image", "image/jpeg", "queued")
    probe_footage(footage)
    assert footage.frame_count == 1 and footage.width > 0


def test_it_refuses_to_read_an_original_that_changed_since_upload(charlie: Any, charlies_case: Any):
    response = upload(logged_in(charlie), charlies_case.pk, "clip.mp4", shared_file(HAMILTON_CLIP).read_bytes())
    footage = Footage.objects.get(pk=response.json()["id"])
    Path(footage.original.path).write_bytes(b"tampered")

    with pytest.raises(IntegrityError, match="SHA-256"):
        probe_footage(footage)
    media = logged_in(charlie).get(f"/media/footage/{footage.pk}/original/")
    assert media.status_code == 409
    assert b"Integrity check failed" in media.content
    assert AuditEvent.objects.filter(verb="integrity_failure", object_id=str(footage.pk)).exists()

    assert process_footage(footage.pk) == "failed"
    footage.refresh_from_db()
    assert footage.status == "failed" and "IntegrityError" in footage.error


def test_it_streams_uploads_to_private_storage_with_their_hash(charlie: Any, charlies_case: Any, private_media: Path):
    import hashlib

    clip = shared_file(HAMILTON_CLIP).read_bytes()
    response = upload(logged_in(charlie), charlies_case.pk, "clip.mp4", clip)
    footage = Footage.objects.get(pk=response.json()["id"])
    assert footage.sha256 == hashlib.sha256(clip).hexdigest()
    stored = Path(footage.original.path)
    assert stored.is_relative_to(private_media) and stored.read_bytes() == clip
    assert files_under(private_media / "incoming") == []
    assert oct(stored.stat().st_mode & 0o777) == "0o600"


@pytest.mark.asyncio
async def test_it_refuses_an_oversized_request_before_reading_its_body(settings):
    from channels.testing import HttpCommunicator

    from facecase.asgi import application

    settings.FACECASE_MAX_UPLOAD_BYTES = 1000
    declared = str(5 * 1024**3).encode()
    communicator = HttpCommunicator(
        application, "POST", "/api/cases/1/footage/", body=b"", headers=[(b"content-length", declared)]
    )
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 413
    assert b"more than the upload limit of 1000 bytes" in response["body"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_recovers_jobs_that_a_restart_forgot(live_worker: Any, charlie: Any, charlies_case: Any, monkeypatch):
    """The embedded Redis keeps nothing across restarts, and an upload may land while the queue is down: the
    upload still stands, and at start-up queued rows (and rows a dead worker left half done) run again."""
    from django_q.conf import Conf

    from footage.services import footage_recover_jobs

    monkeypatch.setattr(Conf, "REDIS", "unix:///nonexistent/facecase-redis.sock")
    photo = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    client = logged_in(charlie)
    ids = [upload(client, charlies_case.pk, f"still-{n}.jpg", photo, "image/jpeg").json()["id"] for n in (1, 2)]
    for footage_id in ids:
        assert Footage.objects.get(pk=footage_id).status == "queued"
        assert JobLogLine.objects.filter(footage_id=footage_id, message__contains="could not reach the queue").exists()
    # As if a worker had claimed the first one and died.
    Footage.objects.filter(pk=ids[0]).update(status="processing")
    monkeypatch.undo()

    assert footage_recover_jobs(include_processing=True) == 2
    for footage_id in ids:
        footage = wait_for(
            lambda footage_id=footage_id: Footage.objects.filter(pk=footage_id, status__in=["done", "failed"]).first(),
            timeout_s=180, what="the recovered job to finish", worker=live_worker,
        )
        assert footage.status == "done", footage.error
    assert AuditEvent.objects.filter(verb="requeue", object_id=str(ids[0])).exists()


def test_it_queues_failed_footage_again_on_request(charlie: Any, charlies_case: Any):
    photo = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    client = logged_in(charlie)
    footage_id = upload(client, charlies_case.pk, "still.jpg", photo, "image/jpeg").json()["id"]
    Footage.objects.filter(pk=footage_id).update(status="failed", error="worker ran out of memory",
                                                 analysis_state={"checkpoint": 120})

    response = client.post(f"/api/footage/{footage_id}/requeue/", {"fresh": True}, content_type="application/json")
    assert response.status_code == 200
    footage = Footage.objects.get(pk=footage_id)
    assert (footage.status, footage.error, footage.analysis_state) == ("queued", "", {})
    assert JobLogLine.objects.filter(footage=footage, message="queued again (requested by charlie)").exists()
    event = AuditEvent.objects.get(verb="requeue", object_id=str(footage_id))
    assert event.details == {"from": "failed", "fresh": True, "reason": "requested by charlie"}

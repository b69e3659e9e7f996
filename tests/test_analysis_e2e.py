"""Footage analysis end to end: real registry, real footage, a real django-q2 worker, real alerts pushed live.

The stories: the Hamilton clip with its two people enrolled (and an unrelated LFW person) raises alerts for both of
them and nobody else, pushed to the operators' group; running the job again creates nothing new; a worker killed
mid-video resumes from its checkpoint without duplicates; a Big Bang Theory group photo raises several alerts at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import cv2
import pytest
from asgiref.sync import async_to_sync
from conftest import HAMILTON_CLIP, REPO_ROOT, SHARED_DATA, registry_settled, shared_file, wait_for
from django.core.files.uploadedfile import SimpleUploadedFile

from facecase.files import sha256_of_path
from footage.models import Alert, Footage, JobLogLine, Sighting
from footage.services import footage_enqueue, footage_ingest
from suspects.models import RegistryVersion, Suspect
from suspects.services import suspect_create, suspect_photo_add

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXAMPLES = SHARED_DATA / "face_recognition_examples"
BBT = SHARED_DATA / "faceapi_bbt" / "images"


def enrol(actor: Any, name: str, external_id: str, status: str, photos: list[Path]) -> Suspect:
    suspect = suspect_create(actor=actor, name=name, external_id=external_id, status=status)
    for path in photos:
        suspect_photo_add(actor=actor, suspect=suspect, upload=SimpleUploadedFile(path.name, path.read_bytes()))
    return suspect


@pytest.fixture
def hamilton_registry(alice: Any, live_worker: Any) -> dict[str, Any]:
    lin = enrol(alice, "Lin-Manuel Miranda", "H-LMM", Suspect.Status.WANTED,
                [shared_file(EXAMPLES / "lin-manuel-miranda.png")])
    alex = enrol(alice, "Alex Lacamoire", "H-AL", Suspect.Status.PERSON_OF_INTEREST,
                 [shared_file(EXAMPLES / "alex-lacamoire.png")])
    serena = enrol(alice, "Serena Williams", "LFW-SW", Suspect.Status.WANTED,
                   sorted((SHARED_DATA / "lfw" / "images_deepfunneled" / "Serena_Williams").glob("*.jpg"))[:3])
    version = registry_settled(3, live_worker)  # the session worker enrols from its media folder: ours now
    return {"lin": lin, "alex": alex, "serena": serena, "version": version}


def upload(actor: Any, case: Any, path: Path) -> Footage:
    return footage_ingest(actor=actor, case=case, upload=SimpleUploadedFile(path.name, path.read_bytes()))


def job_state(footage_id: int) -> str:
    """Where a job stands, for a failure message: status, progress and its last log lines."""
    row = Footage.objects.filter(pk=footage_id).values("status", "progress", "error", "analysis_state").first()
    lines = list(JobLogLine.objects.filter(footage_id=footage_id).order_by("-pk").values_list("message", flat=True))
    return f"{row}\njob log (newest first):\n" + "\n".join(lines[:15])


def database_waits() -> str:
    """On PostgreSQL, the other sessions and what they wait for: a job that never ends may be waiting on a lock."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, state, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return "database sessions:\n" + "\n".join(map(str, cursor.fetchall())) + "\n"


def dump_stacks(worker: Any) -> str:
    """SIGABRT to a stuck worker's processes (started with PYTHONFAULTHANDLER) and the stacks they printed."""
    log_path = getattr(worker, "log_path", None)
    if worker is None or log_path is None or worker.poll() is not None:
        return ""
    try:
        os.killpg(worker.pid, signal.SIGABRT)
        worker.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    return "worker stacks:\n" + Path(log_path).read_text(errors="replace")[-6000:]


def finished(footage_id: int, worker: Any, timeout_s: float = 900) -> Footage:
    try:
        footage = wait_for(lambda: Footage.objects.filter(pk=footage_id, status__in=["done", "failed"]).first(),
                           timeout_s=timeout_s, what=f"footage {footage_id} to finish", worker=worker)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{job_state(footage_id)}\n{database_waits()}{dump_stacks(worker)}") from None
    log = "\n".join(JobLogLine.objects.filter(footage=footage).values_list("message", flat=True))
    assert footage.status == "done", f"{footage.error}\n{log}"
    return footage


def operators_inbox() -> tuple[Any, str]:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    # A plain channel name (no "!"): read straight from Redis, from any event loop async_to_sync gives us.
    channel = f"test-operators-inbox.{uuid.uuid4().hex}"
    async_to_sync(layer.group_add)("operators", channel)
    return layer, channel


def drain(layer: Any, channel: str) -> list[dict[str, Any]]:
    import asyncio

    async def take() -> list[dict[str, Any]]:
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), timeout=2))
            except TimeoutError:
                return messages

    return async_to_sync(take)()


def requeue(footage: Footage, *, fresh: bool) -> None:
    """What an admin's "analyse again" does: back to queued (a fresh run forgets the checkpoint) and enqueued."""
    updates: dict[str, Any] = {"status": Footage.Status.QUEUED, "progress": 0}
    if fresh:
        updates["analysis_state"] = {}
    Footage.objects.filter(pk=footage.pk).update(**updates)
    footage_enqueue(footage_id=footage.pk)


def test_it_alerts_operators_live_for_both_hamilton_people_and_nobody_else_and_never_twice(
        live_worker: Any, charlie: Any, charlies_case: Any, hamilton_registry: dict[str, Any]):
    layer, inbox = operators_inbox()
    footage = finished(upload(charlie, charlies_case, shared_file(HAMILTON_CLIP)).pk, live_worker)

    alerts = list(Alert.objects.filter(footage=footage).select_related("suspect", "sighting"))
    alerted = {a.suspect.external_id for a in alerts}
    assert alerted == {"H-LMM", "H-AL"}  # both found; Serena Williams, also enrolled, is not in the clip
    assert len({(a.sighting_id, a.suspect_id) for a in alerts}) == len(alerts)
    assert len(alerts) <= 4  # one per track, not one per frame: the clip has 275 frames
    version = RegistryVersion.objects.get(pk=hamilton_registry["version"].pk)
    assert {a.registry_version_id for a in alerts} == {version.pk}

    sightings = list(Sighting.objects.filter(footage=footage))
    assert len(sightings) >= len(alerts)
    for sighting in sightings:
        assert sighting.registry_version_id == version.pk
        assert sha256_of_path(sighting.raw_crop.path) == sighting.raw_crop_sha256
        assert sha256_of_path(sighting.enhanced_crop.path) == sighting.enhanced_crop_sha256
        assert sighting.first_frame <= sighting.best_frame_index <= sighting.last_frame
        assert len(sighting.track_frames) >= 2 and any("crop" in f for f in sighting.track_frames)
        if sighting.averaged_chip:  # the track's frames averaged: stored with its hash and which frames it took
            assert sha256_of_path(sighting.averaged_chip.path) == sighting.averaged_chip_sha256
            assert set(sighting.averaged_chip_record["frames"]) <= {f["frame"] for f in sighting.track_frames}
    # A track whose distance came from the average of its frames keeps that image as evidence.
    assert all(s.averaged_chip for s in sightings if any(c.get("view") == "averaged chip" for c in s.top_candidates))
    assert any(s.averaged_chip for s in sightings)
    for alert in alerts:
        assert alert.sighting.best_suspect_id == alert.suspect_id
        assert alert.sighting.top_candidates[0]["suspect_id"] == alert.suspect_id
        assert 0.5 <= alert.score <= 1.0  # the matcher's score is 0.5 exactly at the threshold

    pushed = [m["payload"] for m in drain(layer, inbox) if m.get("event_type") == "alert.created"]
    assert sorted(p["id"] for p in pushed) == sorted(a.pk for a in alerts)
    assert all(p["suspect_name"] for p in pushed)

    # Analysing the same footage again, from scratch, finds the same tracks and creates nothing new.
    track_ids = sorted(s.track_id for s in sightings)
    requeue(footage, fresh=True)
    finished(footage.pk, live_worker)
    assert sorted(Sighting.objects.filter(footage=footage).values_list("track_id", flat=True)) == track_ids
    assert Alert.objects.filter(footage=footage).count() == len(alerts)
    assert not [m for m in drain(layer, inbox) if m.get("event_type") == "alert.created"]


def looped_clip(path: Path, times: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 29.97, (640, 360))
    for _ in range(times):
        source = cv2.VideoCapture(str(shared_file(HAMILTON_CLIP)))
        while (frame := source.read()[1]) is not None:
            writer.write(frame)
        source.release()
    writer.release()
    return path


def start_worker(worker_env: dict[str, str], queue: str, media: Path, log: Path) -> subprocess.Popen:
    env = {**worker_env, "FACECASE_Q_NAME": queue, "PRIVATE_MEDIA_ROOT": str(media)}
    process = subprocess.Popen([sys.executable, str(REPO_ROOT / "manage.py"), "qcluster"], cwd=REPO_ROOT, env=env,
                               stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)  # noqa: SIM115
    process.log_path = log  # type: ignore[attr-defined]  # wait_for shows its tail when it gives up
    return process


def stop(worker: subprocess.Popen, sig: int) -> None:
    for signum in (sig, signal.SIGKILL):  # a clean qcluster shutdown can outlast our patience on a busy machine
        try:
            os.killpg(worker.pid, signum)
        except ProcessLookupError:
            return
        try:
            worker.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


def test_it_resumes_a_video_after_its_worker_is_killed_without_duplicates(
        worker_env: dict[str, str], queue_env: dict[str, str], charlie: Any, charlies_case: Any,
        hamilton_registry: dict[str, Any], live_worker: Any, tmp_path: Path, monkeypatch: Any):
    from django_q.conf import Conf

    queue = f"{queue_env['FACECASE_Q_NAME']}-kill-{uuid.uuid4().hex[:4]}"  # a queue only our own workers read
    monkeypatch.setattr(Conf, "PREFIX", queue)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", queue)
    clip = looped_clip(tmp_path / "twice.mp4", 2)
    media = live_worker.media_root  # where the registry fixture's photos and our upload are stored
    first = start_worker(worker_env, queue, media, tmp_path / "worker1.log")
    try:
        footage = upload(charlie, charlies_case, clip)
        # Kill the worker (SIGKILL: no clean shutdown) once some tracks are stored and a checkpoint is saved.
        def checkpointed() -> bool:
            row = Footage.objects.get(pk=footage.pk)
            saved = (row.analysis_state or {}).get("checkpoint") or 0
            return row.status != Footage.Status.PROCESSING and row.status != Footage.Status.QUEUED or (
                saved >= 290 and Sighting.objects.filter(footage=footage).exists())

        wait_for(checkpointed, timeout_s=900, what="a checkpoint after the first loop", worker=first)
    finally:
        stop(first, signal.SIGKILL)
    footage.refresh_from_db()
    assert footage.status == Footage.Status.PROCESSING  # the job died mid-video
    checkpoint = footage.analysis_state["checkpoint"]
    stored_before = set(Sighting.objects.filter(footage=footage).values_list("track_id", flat=True))

    second = start_worker(worker_env, queue, media, tmp_path / "worker2.log")
    try:
        # Requeue once the second worker is up, as an operator would, not in the same instant as the kill. In
        # whole-suite runs on PostgreSQL the task requeued right after the kill sometimes never reached this worker
        # (one of two runs on 2026-12-01; the test alone passes). Suspected, not confirmed: the killed worker's
        # pusher was blocked in Redis' BLPOP on this queue, and a task pushed before Redis notices the connection
        # closing goes to it (a standalone try, 40 kills then an immediate push, idle and loaded, lost none).
        # The product re-sends queued jobs the queue forgot (FACECASE_JOB_RESEND_AFTER_S); should it still happen,
        # do the same here once, after a minute, so the story checks the resume, not the delivery.
        wait_for(lambda: "running." in Path(second.log_path).read_text(errors="replace"), timeout_s=120,
                 what="the second worker to start", worker=second)
        requeue(footage, fresh=False)
        try:
            wait_for(lambda: Footage.objects.filter(pk=footage.pk).exclude(status=Footage.Status.QUEUED).exists(),
                     timeout_s=60, what="the second worker to claim the job", worker=second)
        except AssertionError:
            footage_enqueue(footage_id=footage.pk)
        footage = finished(footage.pk, second)
    finally:
        stop(second, signal.SIGTERM)
    log = list(JobLogLine.objects.filter(footage=footage).values_list("message", flat=True))
    assert any(f"resuming after frame {checkpoint}" in line for line in log)
    sightings = list(Sighting.objects.filter(footage=footage))
    assert stored_before <= {s.track_id for s in sightings}
    # No track was stored twice: no two sightings cover the same face on the same frame.
    seen: dict[int, list[list[int]]] = {}
    for sighting in sightings:
        for entry in sighting.track_frames:
            for other in seen.get(entry["frame"], []):
                assert not boxes_overlap(other, entry["box"]), f"frame {entry['frame']} stored twice"
            seen.setdefault(entry["frame"], []).append(entry["box"])
    alerts = Alert.objects.filter(footage=footage)
    assert {a.suspect.external_id for a in alerts} == {"H-LMM", "H-AL"}
    assert alerts.filter(suspect__external_id="H-LMM").count() >= 2  # Lin on stage, at least once per loop


def boxes_overlap(a: list[int], b: list[int]) -> bool:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy > 0.5 * min(a[2] * a[3], b[2] * b[3])


def test_it_raises_several_alerts_from_one_group_photo(live_worker: Any, alice: Any, charlie: Any,
                                                       charlies_case: Any):
    characters = sorted(p.name for p in shared_file(BBT).iterdir() if p.is_dir())
    for name in characters:
        enrol(alice, name.title(), f"BBT-{name}", Suspect.Status.PERSON_OF_INTEREST, sorted((BBT / name).glob("*.png")))
    version = registry_settled(len(characters), live_worker)
    assert version.suspect_count == len(characters) == 8
    footage = finished(upload(charlie, charlies_case, BBT / "bbt1.jpg").pk, live_worker)
    alerts = list(Alert.objects.filter(footage=footage).select_related("suspect"))
    assert footage.kind == "image"
    assert len(alerts) >= 3
    assert len({a.suspect_id for a in alerts}) == len(alerts)  # several people, each once
    assert len({a.sighting_id for a in alerts}) == len(alerts)  # each on their own face


def test_it_keeps_what_a_damaged_video_showed_and_says_where_decoding_stopped(
        live_worker: Any, charlie: Any, charlies_case: Any, hamilton_registry: dict[str, Any], tmp_path: Path):
    # The clip's first 150 frames as MJPG, cut in half as an interrupted copy would be: about 75 frames decode.
    source = cv2.VideoCapture(str(shared_file(HAMILTON_CLIP)))
    whole = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 29.97, (640, 360))
    for _ in range(150):
        ok, frame = source.read()
        assert ok
        writer.write(frame)
    writer.release()
    source.release()
    cut = tmp_path / "interrupted.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    footage_id = upload(charlie, charlies_case, cut).pk
    footage = wait_for(lambda: Footage.objects.filter(pk=footage_id, status__in=["done", "failed"]).first(),
                       timeout_s=900, what="the damaged footage to finish", worker=live_worker)

    assert footage.status == "failed"  # incomplete evidence never looks complete
    assert "declares 150 frames" in footage.error and "decoding stopped at frame" in footage.error
    assert "results from the frames that decoded are kept" in footage.error
    assert Sighting.objects.filter(footage=footage).exists()  # what the decoded half showed is still there
    assert Sighting.objects.filter(footage=footage, last_frame__lt=footage.frame_count).count() == \
        Sighting.objects.filter(footage=footage).count()

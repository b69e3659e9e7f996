"""Live cameras end to end: a real RTSP server (GStreamer), a local HTTP MJPEG server and a looping file, read by
a real ``run_cameras`` process on the test database; alerts reach an operator's WebSocket with the camera and the
capture time; bad sources leave the runner and the other cameras running; credentials never show."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from camera_support import (
    SECRET,
    CameraRunner,
    RtspServer,
    alerts_from,
    enrol_astronaut,
    free_port,
    operator_socket,
    rtsp_available,
    write_frames,
)
from conftest import wait_for
from django.test import Client

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STARTUP_S = 300  # bounds a hang only (TensorFlow loads in the runner at its first face on a busy 2-core machine)


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("camera-frames")
    write_frames(folder)
    return folder


@pytest.fixture(scope="module")
def camera_runner(worker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    runner = CameraRunner(worker_env, tmp_path_factory.mktemp("runner")).start()
    yield runner
    runner.stop()


@pytest.fixture
def runner(camera_runner: CameraRunner, settings: Any) -> CameraRunner:
    """The module's runner, with this test's private media in the folder it writes (gallery, crops, clips)."""
    settings.PRIVATE_MEDIA_ROOT = camera_runner.media_root
    return camera_runner


@pytest.fixture
def rtsp(frames_dir: Path) -> Any:
    reason = rtsp_available()
    if reason:
        pytest.skip(reason)
    server = RtspServer(frames_dir, free_port()).start()
    yield server
    server.kill()


def camera_row(pk: int) -> Any:
    from cameras.models import Camera

    return Camera.objects.filter(pk=pk).first()


def add_camera(actor: Any, name: str, url: str, **extra: Any) -> Any:
    from cameras.services import camera_create

    return camera_create(actor=actor, name=name, source_url=url, analysis_fps=5.0, **extra)


def pages_and_api(alice: Any, bob: Any, camera_id: int, alert_id: int) -> dict[str, str]:
    admin, operator = Client(), Client()
    admin.force_login(alice)
    operator.force_login(bob)
    answers = {}
    for who, client, url in [
        ("admin", admin, "/cameras/"), ("admin", admin, f"/cameras/{camera_id}/"),
        ("admin", admin, f"/cameras/{camera_id}/edit/"), ("admin", admin, "/cameras/status/"),
        ("admin", admin, "/api/cameras/"), ("admin", admin, f"/api/cameras/{camera_id}/"),
        ("admin", admin, "/audit/"), ("operator", operator, f"/alerts/{alert_id}/"),
        ("operator", operator, f"/api/alerts/{alert_id}/"), ("operator", operator, "/cameras/"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, (who, url, response.status_code)
        answers[f"{who} {url}"] = response.content.decode()
    return answers


@pytest.mark.asyncio
async def test_it_alerts_an_operator_over_the_websocket_from_an_rtsp_camera_and_never_shows_its_password(
        runner: CameraRunner, rtsp: RtspServer, alice: Any, bob: Any, mallory: Any):
    await sync_to_async(enrol_astronaut)(alice)
    socket_ = await operator_socket(bob)
    try:
        camera = await sync_to_async(add_camera)(alice, "Platform 2 RTSP", rtsp.url, location="north stairs")
        event = (await alerts_from(socket_, {camera.pk}, STARTUP_S))[camera.pk]
    finally:
        await socket_.disconnect()
    payload = event["payload"]
    assert payload["camera_name"] == "Platform 2 RTSP" and payload["suspect_name"] == "Eileen Collins (demo)"
    captured = dt.datetime.fromisoformat(payload["captured_at"])
    assert abs(captured.timestamp() - payload["captured_ts"]) < 0.01
    assert dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10) < captured <= dt.datetime.now(dt.UTC)

    def evidence() -> Any:
        from footage.models import Alert

        alert = Alert.objects.select_related("sighting").get(pk=payload["id"])
        return alert if alert.clip_sha256 else None

    alert = await sync_to_async(wait_for)(evidence, 120, "the alert's evidence clip", runner.process)
    assert alert.camera_id == camera.pk and alert.footage_id is None and alert.captured_at == captured
    assert alert.sighting.camera_id == camera.pk and alert.sighting.raw_crop_sha256
    assert alert.clip_started_at < alert.captured_at < alert.clip_ended_at
    clip = Path(runner.media_root) / alert.clip.name
    assert hashlib.sha256(clip.read_bytes()).hexdigest() == alert.clip_sha256

    def clip_answers() -> tuple[int, bytes, int]:
        operator, stranger = Client(), Client()
        operator.force_login(bob)
        stranger.force_login(mallory)
        served = operator.get(f"/media/alert/{alert.pk}/clip/")
        return served.status_code, b"".join(served.streaming_content), stranger.get(
            f"/media/alert/{alert.pk}/clip/").status_code

    served_status, served_bytes, stranger_status = await sync_to_async(clip_answers)()
    assert served_status == 200 and hashlib.sha256(served_bytes).hexdigest() == alert.clip_sha256
    assert stranger_status == 404

    row = await sync_to_async(camera_row)(camera.pk)
    assert row.health == "live" and row.fps_received > 0 and row.lag_s is not None, (row.health, row.health_reason)
    answers = await sync_to_async(pages_and_api)(alice, bob, camera.pk, alert.pk)
    for where, body in answers.items():
        assert SECRET not in body, f"the camera password shows in {where}"
    assert "rtsp://***@127.0.0.1" in answers[f"admin /api/cameras/{camera.pk}/"]
    assert "rtsp://***@127.0.0.1" in answers[f"admin /cameras/{camera.pk}/"]
    assert "Evidence clip" in answers[f"operator /alerts/{alert.pk}/"]
    assert SECRET not in runner.output() and "***@127.0.0.1" in runner.output()


@pytest.mark.asyncio
async def test_it_marks_a_killed_rtsp_stream_unhealthy_and_recovers_when_it_returns(
        runner: CameraRunner, rtsp: RtspServer, alice: Any):
    camera = await sync_to_async(add_camera)(alice, "Concourse RTSP", rtsp.url)
    pid = runner.process.pid

    def health(*states: str) -> Any:
        def check() -> Any:
            row = camera_row(camera.pk)
            return row if row is not None and row.health in states else None
        return check

    await sync_to_async(wait_for)(health("live"), STARTUP_S, "the RTSP camera to go live", runner.process)
    rtsp.kill()
    down = await sync_to_async(wait_for)(health("stalled", "failed"), 60, "the camera marked unhealthy",
                                         runner.process)
    assert down.health_reason and SECRET not in down.health_reason, down.health_reason
    rtsp.start()
    await sync_to_async(wait_for)(health("live"), 60, "the camera live again after the server returned",
                                  runner.process)
    assert runner.process.poll() is None and runner.process.pid == pid
    assert SECRET not in runner.output()


@pytest.mark.asyncio
async def test_it_alerts_from_http_mjpeg_and_a_looping_file_while_a_dead_url_fails_beside_them(
        runner: CameraRunner, frames_dir: Path, alice: Any, bob: Any):
    from streams.mjpeg_server import MjpegServer

    await sync_to_async(enrol_astronaut)(alice)
    frames = [p.read_bytes() for p in sorted(frames_dir.glob("*.jpg"))]
    mjpeg = MjpegServer(frames, fps=10).start()
    socket_ = await operator_socket(bob)
    try:
        http_camera = await sync_to_async(add_camera)(alice, "Lobby MJPEG", f"{mjpeg.url}?token={SECRET}")
        file_camera = await sync_to_async(add_camera)(alice, "Demo loop", str(frames_dir / "clip.mp4"))
        dead = await sync_to_async(add_camera)(alice, "Roof", f"rtsp://admin:{SECRET}@127.0.0.1:{free_port()}/x")
        health_events: list[dict] = []
        events = await alerts_from(socket_, {http_camera.pk, file_camera.pk}, STARTUP_S, also=health_events)
        deadline = time.monotonic() + 60
        while not any(e["payload"]["camera_id"] == dead.pk and e["payload"]["health"] == "failed"
                      for e in health_events) and time.monotonic() < deadline:
            try:
                event = await socket_.receive_json_from(timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            if event["type"] == "camera.health":
                health_events.append(event)
    finally:
        await socket_.disconnect()
    for camera in (http_camera, file_camera):
        assert events[camera.pk]["payload"]["captured_at"] and events[camera.pk]["payload"]["suspect_name"]

    def failed() -> Any:
        row = camera_row(dead.pk)
        return row if row.health == "failed" and "could not connect" in row.health_reason else None

    row = await sync_to_async(wait_for)(failed, 60, "the dead camera marked failed", runner.process)
    assert SECRET not in row.health_reason
    # ... and the operator's wall was told over the WebSocket, without waiting for its next poll
    pushed = [e for e in health_events if e["payload"]["camera_id"] == dead.pk and e["payload"]["health"] == "failed"]
    assert pushed and "could not connect" in pushed[0]["payload"]["reason"]
    assert all(SECRET not in json.dumps(e) for e in health_events)

    # The MJPEG camera changes resolution mid-stream (OpenCV scales such frames back to the size it opened with,
    # so analysis goes on), then reboots: the new connection's smaller frames restart the tracks at the new size.
    mjpeg.resize_after = mjpeg.sent
    await asyncio.sleep(2)
    assert (await sync_to_async(camera_row)(http_camera.pk)).health == "live"
    mjpeg.cut()
    await sync_to_async(wait_for)(lambda: "resolution changed from 640x360 to 320x180" in runner.output(), 60,
                                  "the runner to notice the new resolution", runner.process)
    # Then it sends garbage instead of JPEG parts.
    mjpeg.garbage_after = mjpeg.sent
    mjpeg.cut()

    def garbled() -> Any:
        row = camera_row(http_camera.pk)
        return row if row.health in ("stalled", "failed") else None

    row = await sync_to_async(wait_for)(garbled, 60, "the garbage stream marked unhealthy", runner.process)
    assert row.health_reason
    mjpeg.stop()

    def file_still_live() -> Any:
        row = camera_row(file_camera.pk)
        fresh = row.last_frame_at and (dt.datetime.now(dt.UTC) - row.last_frame_at).total_seconds() < 5
        return row if row.health == "live" and fresh else None

    await sync_to_async(wait_for)(file_still_live, 30, "the file camera to stay live", runner.process)

    # Removed while live: the runner stops reading it (and says so) without a restart.
    from cameras.services import camera_delete

    await sync_to_async(camera_delete)(actor=alice, camera=await sync_to_async(camera_row)(file_camera.pk))
    removed_at = time.monotonic()
    await sync_to_async(wait_for)(lambda: "Demo loop" in runner.output() and "stopped (removed)" in runner.output(),
                                  30, "the removed camera to stop", runner.process)
    print(f"removed camera stopped {time.monotonic() - removed_at:.2f} s after the delete (log poll included)")
    assert runner.process.poll() is None
    assert SECRET not in runner.output()

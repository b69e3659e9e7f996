"""Shared by the camera tests: a clip of an enrolled person as JPEG frames, the RTSP server process, a
``run_cameras`` process on the test database, the enrolled demo suspect, and a WebSocket operator client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from conftest import REPO_ROOT
from django.test import Client

SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SCRIPT = REPO_ROOT / "tests" / "streams" / "rtsp_server.py"
SECRET = "s3cret-pw-9431"


def write_frames(folder: Path, seconds: float = 6.0, fps: float = 10.0) -> list[bytes]:
    """The SYNTHETIC CCTV clip of skimage's astronaut (enhancement.synthetic) as numbered JPEG files."""
    import cv2

    from enhancement.synthetic import make_cctv_clip

    folder.mkdir(parents=True, exist_ok=True)
    clip = make_cctv_clip(folder / "clip.mp4", seconds=seconds, fps=fps)
    capture = cv2.VideoCapture(str(clip.path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
        (folder / f"{len(frames):04d}.jpg").write_bytes(data)
        frames.append(data)
    capture.release()
    return frames


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rtsp_available() -> str | None:
    """Why the GStreamer RTSP server cannot run here, or None."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                            "from gi.repository import GstRtspServer"], capture_output=True, text=True)
    if probe.returncode != 0:
        return ("the GStreamer RTSP server is not installed (apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 "
                "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly; `make test` does "
                f"this as root): {probe.stderr.strip()[-200:]}")
    return None


class RtspServer:
    def __init__(self, frames_dir: Path, port: int, fps: int = 10) -> None:
        self.frames_dir, self.port, self.fps = frames_dir, port, fps
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtsp://viewer:{SECRET}@127.0.0.1:{self.port}/cam"

    def start(self) -> RtspServer:
        self.process = subprocess.Popen([SYSTEM_PYTHON, str(RTSP_SCRIPT), str(self.port), str(self.frames_dir),
                                         str(self.fps)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.process.stdout.readline().strip()
        if line != "ready":
            raise AssertionError(f"the RTSP server did not start: {line} {self.process.stdout.read()[-500:]}")
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class CameraRunner:
    """``manage.py run_cameras`` as a separate process on the test database and the session's Redis."""

    def __init__(self, env: dict[str, str], folder: Path, name: str = "", media_root: Path | None = None) -> None:
        self.log_path = folder / f"run_cameras{'-' + name if name else ''}.log"
        self.media_root = media_root or folder / "media"
        self.media_root.mkdir(parents=True, exist_ok=True)
        self.env = {**env, "PRIVATE_MEDIA_ROOT": str(self.media_root)}
        self.name = name
        self.process: subprocess.Popen | None = None

    def start(self) -> CameraRunner:
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, str(REPO_ROOT / "manage.py"), "run_cameras", *(["--name", self.name]
                                                                                   if self.name else [])]
        self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.process.log_path = self.log_path  # type: ignore[attr-defined] - for conftest.wait_for's report
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def enrol_astronaut(actor: Any) -> Any:
    """The demo suspect, enrolled from ``skimage.data.astronaut()`` into a new registry version."""
    from enhancement.synthetic import astronaut_bgr
    from footage.management.commands.demo import _png_upload
    from suspects.gallery import registry_rebuild
    from suspects.models import Suspect
    from suspects.services import suspect_create, suspect_photo_add

    suspect = suspect_create(actor=actor, name="Eileen Collins (demo)", external_id="DEMO-ASTRONAUT",
                             status=Suspect.Status.WANTED)
    suspect_photo_add(actor=actor, suspect=suspect, upload=_png_upload("astronaut.png", astronaut_bgr()))
    version = registry_rebuild(reason="camera test")
    assert version is not None and version.suspect_count == 1
    return suspect


def session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def operator_socket(user: Any) -> WebsocketCommunicator:
    from facecase.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"cookie", await sync_to_async(session_cookie)(user))]
    socket_ = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    accepted, _ = await socket_.connect(timeout=20)
    assert accepted
    hello = await socket_.receive_json_from(timeout=20)
    assert hello["type"] == "hello"
    return socket_


async def alerts_from(socket_: WebsocketCommunicator, camera_ids: set[int], timeout_s: float,
                      also: list[dict] | None = None) -> dict[int, dict]:
    """The first ``alert.created`` event of each camera, waiting at most ``timeout_s`` in all (a hang bound);
    ``camera.health`` events seen meanwhile are appended to ``also``."""
    found: dict[int, dict] = {}
    deadline = time.monotonic() + timeout_s
    while set(found) != camera_ids:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no alert over the WebSocket from cameras {camera_ids - set(found)}")
        try:
            event = await socket_.receive_json_from(timeout=left)
        except TimeoutError as exc:
            raise AssertionError(f"no alert over the WebSocket from cameras {camera_ids - set(found)}") from exc
        camera_id = event.get("payload", {}).get("camera_id")
        if event["type"] == "camera.health" and also is not None:
            also.append(event)
        if event["type"] == "alert.created" and camera_id in camera_ids:
            found.setdefault(camera_id, event)
    return found


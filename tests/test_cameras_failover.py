"""Two ``run_cameras`` processes share the cameras through database leases; killing the one that reads a camera
moves it to the other within seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from camera_support import CameraRunner, write_frames
from conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_it_moves_a_killed_runners_camera_to_the_other_runner(worker_env: dict[str, str], tmp_path: Path,
                                                              alice: Any, settings: Any):
    from cameras.models import Camera
    from cameras.services import camera_create

    frames = tmp_path / "frames"
    write_frames(frames, seconds=3.0)
    media = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = media
    first = CameraRunner(worker_env, tmp_path, name="runner-a", media_root=media).start()
    second = CameraRunner(worker_env, tmp_path, name="runner-b", media_root=media).start()
    try:
        camera = camera_create(actor=alice, name="Gate loop", source_url=str(frames / "clip.mp4"), analysis_fps=2.0)

        def held_live() -> Any:
            row = Camera.objects.get(pk=camera.pk)
            return row if row.runner and row.health == "live" else None

        row = wait_for(held_live, 300, "a runner to claim the camera and go live")
        holder, other = (first, second) if row.runner == "runner-a" else (second, first)
        assert Camera.objects.filter(runner__in=["runner-a", "runner-b"]).count() == 1
        holder.kill()

        def moved() -> Any:
            row = Camera.objects.get(pk=camera.pk)
            return row if row.runner == other.name and row.health == "live" else None

        wait_for(moved, 120, f"the camera to move to {other.name}", other.process)
        assert other.process.poll() is None
        assert f"claimed Gate loop from {holder.name}" in other.output()
    finally:
        first.stop()
        second.stop()

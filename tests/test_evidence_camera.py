"""A camera alert's evidence package: the clip the runner stored goes in, listed and hashed, and the verifier checks it.

The alert is raised the way the camera runner raises it: ``cameras.runner.CameraWorker`` (its matching, sighting,
alert and clip code, not its thread) fed the synthetic CCTV clip of the enrolled astronaut frame by frame at 5 fps,
with wall-clock capture times, on a camera attached to charlie's case whose RTSP URL carries a password.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import cv2
import pytest
from camera_support import SECRET, enrol_astronaut

from evidence.build import ExportRefused, alert_get_for_export, evidence_export_alert, evidence_export_case
from facecase.models import AuditEvent
from facecase_verify import verify_package
from footage.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_var_dir(settings: Any, tmp_path: Path) -> Path:
    var = tmp_path / "var"
    var.mkdir()
    settings.VAR_DIR = var
    return var


def run_camera_on_clip(camera: Any, clip: Path) -> None:
    """The runner's worker on every other frame of ``clip`` (10 fps analysed at 5), as a live camera would send it."""
    from cameras.models import Camera
    from cameras.runner import CameraWorker
    from suspects.gallery import current_gallery

    Camera.objects.filter(pk=camera.pk).update(runner="test-runner")  # the lease every write is conditional on
    worker = CameraWorker(Camera.objects.get(pk=camera.pk), "test-runner")
    # what ``_refresh_registry`` sets, without its ``close_old_connections`` (which ends the test's transaction)
    worker.gallery, worker.version = current_gallery()
    loop = None
    capture = cv2.VideoCapture(str(clip))
    captured_at = time.time() - 60.0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            capture.grab()
            captured_at += 0.2
            if loop is None:
                loop = worker._new_loop(image)
            worker.analyse(loop, image, captured_at)
    finally:
        capture.release()
    loop.close_all()
    worker._flush_clips()


@pytest.fixture
def camera_alert(alice: Any, charlie: Any, charlies_case: Any, tmp_path: Path) -> Alert:
    from cameras.services import camera_create
    from enhancement.synthetic import make_cctv_clip

    enrol_astronaut(alice)
    camera = camera_create(actor=alice, name="Platform 2 north", location="north stairs", case=charlies_case,
                           source_url=f"rtsp://viewer:{SECRET}@127.0.0.1:8554/cam", analysis_fps=5.0)
    run_camera_on_clip(camera, make_cctv_clip(tmp_path / "walk.mp4", seconds=8.0, fps=10.0).path)
    alert = Alert.objects.select_related("camera", "sighting").get(camera=camera)
    assert alert.clip and alert.clip_sha256 and alert.clip_started_at < alert.captured_at < alert.clip_ended_at
    return alert


def test_it_packs_a_camera_alerts_clip_that_the_verifier_checks_and_names_when_altered(
        camera_alert: Alert, charlie: Any, dave: Any, tmp_path: Path):
    assert alert_get_for_export(charlie, camera_alert.pk) is not None  # on the camera's case
    assert alert_get_for_export(dave, camera_alert.pk) is None
    result = evidence_export_alert(actor=charlie, alert=camera_alert, via="web")
    verification = verify_package(str(result.path), replay=False)
    assert verification.ok, [f.line() for f in verification.failures]
    clip_entry = next(f for f in verification.manifest["files"] if f["kind"] == "evidence_clip")
    stored = Path(camera_alert.clip.path).read_bytes()
    assert clip_entry["path"] == f"alerts/alert-{camera_alert.pk}/clip.webm"
    assert clip_entry["sha256"] == clip_entry["recorded_sha256"] == camera_alert.clip_sha256
    assert clip_entry["size"] == len(stored)
    with zipfile.ZipFile(result.path) as archive:
        assert archive.read(clip_entry["path"]) == stored
        record = json.loads(archive.read(f"alerts/alert-{camera_alert.pk}/alert.json"))
        html = archive.read("report.html").decode()
        trail = [json.loads(line) for line in archive.read("audit/audit_trail.jsonl").splitlines()]
        members = {name: archive.read(name) for name in archive.namelist()}
    assert record["evidence_clip"]["sha256"] == camera_alert.clip_sha256
    assert record["evidence_clip"]["started_at"] == camera_alert.clip_started_at.isoformat()
    assert record["evidence_clip"]["ended_at"] == camera_alert.clip_ended_at.isoformat()
    assert record["camera"]["name"] == "Platform 2 north" and record["camera"]["location"] == "north stairs"
    assert record["camera"]["source"] == "rtsp://***@127.0.0.1:8554/cam"
    assert not [name for name, data in members.items() if SECRET.encode() in data], "the camera password leaked"
    assert f"camera clip <code class=\"hash\">{camera_alert.clip_sha256}</code>" in html
    assert camera_alert.clip_started_at.strftime("%H:%M:%S") in html
    assert ("create", "cameras.camera") in {(e["verb"], e["object_type"]) for e in trail}

    # one byte of the clip flipped in the package: the verifier fails and names the clip
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(result.path) as source, zipfile.ZipFile(altered, "w") as out:
        for info in source.infolist():
            data = members[info.filename]
            if info.filename == clip_entry["path"]:
                data = data[:100] + bytes([data[100] ^ 0x01]) + data[101:]
            out.writestr(info, data)
    found = verify_package(str(altered), replay=False)
    assert not found.ok, "the altered clip passed"
    assert found.failed_subjects() - {"files", "result"} == {clip_entry["path"]}, [f.line() for f in found.failures]

    # the whole case carries the camera's alert too
    case_package = evidence_export_case(actor=charlie, case=camera_alert.camera.case, alerts="all")
    case_manifest = verify_package(str(case_package.path), replay=False).manifest
    assert case_manifest["covers"]["alert_ids"] == [camera_alert.pk]
    assert clip_entry["path"] in {f["path"] for f in case_manifest["files"]}


def test_it_refuses_to_export_a_camera_clip_that_changed_since_capture(camera_alert: Alert, charlie: Any):
    clip = Path(camera_alert.clip.path)
    data = clip.read_bytes()
    clip.write_bytes(data[:-1] + bytes([data[-1] ^ 0x01]))
    with pytest.raises(ExportRefused, match="clip.webm: SHA-256 is .* refusing to export altered evidence"):
        evidence_export_alert(actor=charlie, alert=camera_alert, via="web")
    failure = AuditEvent.objects.get(verb="integrity_failure")
    assert failure.object_id == str(camera_alert.pk) and "clip.webm" in failure.details["error"]
    assert hashlib.sha256(clip.read_bytes()).hexdigest() != camera_alert.clip_sha256
    assert not AuditEvent.objects.filter(verb="export").exists()

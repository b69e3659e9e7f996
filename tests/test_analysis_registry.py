"""Registry enrolment, the demo, "not this person" memory, cleared suspects and threshold calibration.

These stories run the footage job in this process (the task function a worker runs), on real images and on the
synthetic CCTV clip that ``manage.py demo`` makes from ``skimage.data.astronaut()``.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from enhancement.synthetic import astronaut_bgr, make_cctv_clip
from facecase.models import AuditEvent
from footage.models import Alert, Footage, ReviewLabel, Sighting
from footage.services import alert_confirm, alert_not_this_person, footage_ingest
from footage.tasks import process_footage
from suspects.gallery import registry_rebuild
from suspects.models import RegistryVersion, Suspect, SuspectPhoto
from suspects.photo_enrolment import photo_enrol
from suspects.services import suspect_create, suspect_photo_add, suspect_photo_choose_face, suspect_update
from tests.ui_factory import make_alert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_queue(settings: Any, tmp_path: Path) -> None:
    """No worker here (the rebuilds these changes queue wait in this session's queue): the stories rebuild by hand;
    the recalibrated threshold lands in a folder of our own."""
    settings.VAR_DIR = tmp_path / "var"


def png(image: np.ndarray, name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, cv2.imencode(".png", image)[1].tobytes(), content_type="image/png")


def analyse(actor: Any, case: Any, path: Path) -> Footage:
    footage = footage_ingest(actor=actor, case=case, upload=SimpleUploadedFile(path.name, path.read_bytes()))
    assert process_footage(footage.pk) == "done", Footage.objects.get(pk=footage.pk).error
    footage.refresh_from_db()
    return footage


def test_it_refuses_a_photo_without_a_face_and_says_why(alice: Any):
    from skimage import data

    suspect = suspect_create(actor=alice, name="Nobody", external_id="N-1")
    coffee = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)
    photo = suspect_photo_add(actor=alice, suspect=suspect, upload=png(coffee, "coffee.png"))
    result = photo_enrol(photo=photo)
    photo.refresh_from_db()
    assert not result.enrolled and photo.embedding is None
    assert photo.index_error.startswith("No face found in this photo")


def test_it_asks_which_face_in_a_photo_of_two_and_enrols_the_chosen_one(alice: Any):
    suspect = suspect_create(actor=alice, name="Eileen Collins", external_id="E-1")
    pair = np.hstack([astronaut_bgr(), cv2.flip(astronaut_bgr(), 1)])
    photo = suspect_photo_add(actor=alice, suspect=suspect, upload=png(pair, "pair.png"))
    result = photo_enrol(photo=photo)
    assert not result.enrolled and len(result.faces) == 2
    assert photo.index_error == "2 faces found — choose the suspect's face."
    left = sorted(result.faces)[0]
    suspect_photo_choose_face(actor=alice, photo=photo, box=list(left))
    version = registry_rebuild(reason="face chosen")
    photo.refresh_from_db()
    assert photo.index_error == "" and photo.face_box == list(left)
    assert len(np.frombuffer(bytes(photo.embedding), np.float32)) == 128
    assert photo.crop and Path(photo.crop.path).exists()
    assert version.photo_count == 1 and version.suspect_count == 1


def test_it_reindexes_once_and_then_changes_nothing(alice: Any):
    suspect = suspect_create(actor=alice, name="Eileen Collins", external_id="E-1")
    suspect_photo_add(actor=alice, suspect=suspect, upload=png(astronaut_bgr()))
    out = StringIO()
    call_command("reindex_suspects", stdout=out)
    assert "registry v1 ready: 1 photos of 1 suspects" in out.getvalue()
    embedding = bytes(SuspectPhoto.objects.get().embedding)
    out = StringIO()
    call_command("reindex_suspects", stdout=out)
    assert "registry unchanged" in out.getvalue()
    assert RegistryVersion.objects.count() == 1
    assert bytes(SuspectPhoto.objects.get().embedding) == embedding


def test_the_demo_shows_a_real_alert_and_loading_it_again_adds_nothing():
    call_command("demo", stdout=StringIO())
    alert = Alert.objects.select_related("suspect", "sighting", "footage").get()
    assert alert.suspect.external_id == "DEMO-ASTRONAUT" and alert.suspect.status == Suspect.Status.WANTED
    assert alert.footage.case.reference == "DEMO-1" and alert.footage.kind == "video"
    assert alert.sighting.last_ts - alert.sighting.first_ts > 3  # tracked across the clip, one alert
    assert alert.registry_version is not None
    call_command("demo", stdout=StringIO())
    assert Alert.objects.count() == 1 and Footage.objects.count() == 1 and Suspect.objects.count() == 1


@pytest.fixture
def eileen(alice: Any) -> Suspect:
    suspect = suspect_create(actor=alice, name="Eileen Collins", external_id="E-1", status=Suspect.Status.WANTED)
    suspect_photo_add(actor=alice, suspect=suspect, upload=png(astronaut_bgr()))
    registry_rebuild(reason="test")
    return suspect


def test_it_never_alerts_on_a_cleared_suspect_but_still_records_the_sighting(
        alice: Any, charlie: Any, charlies_case: Any, eileen: Suspect, tmp_path: Path):
    suspect_update(actor=alice, suspect=eileen, status=Suspect.Status.CLEARED)
    footage = analyse(charlie, charlies_case, make_cctv_clip(tmp_path / "cctv.mp4").path)
    assert not Alert.objects.exists()
    assert Sighting.objects.filter(footage=footage, best_suspect=eileen).exists()


def test_it_remembers_not_this_person_for_the_same_face_in_new_footage(
        bob: Any, charlie: Any, charlies_case: Any, eileen: Suspect, tmp_path: Path):
    first = analyse(charlie, charlies_case, make_cctv_clip(tmp_path / "a.mp4", seed=0).path)
    alert = Alert.objects.get(footage=first)
    alert_not_this_person(actor=bob, alert=alert, note="a look-alike")
    # Another camera catches the same face (different noise, speed and size): no new alert for that suspect.
    second = analyse(charlie, charlies_case,
                     make_cctv_clip(tmp_path / "b.mp4", seed=7, seconds=4.0, face_px=64).path)
    assert Sighting.objects.filter(footage=second, best_suspect=eileen).exists()
    assert not Alert.objects.filter(footage=second).exists()


def test_calibrate_moves_the_threshold_from_operators_verdicts_and_audits_it(
        bob: Any, charlie: Any, charlies_case: Any, eileen: Suspect, tmp_path: Path, settings: Any):
    footage = analyse(charlie, charlies_case, make_cctv_clip(tmp_path / "a.mp4").path)
    alert = Alert.objects.get(footage=footage)
    alert_confirm(actor=bob, alert=alert)
    confirmed = ReviewLabel.objects.get(alert=alert)
    assert confirmed.label == "same" and confirmed.distance is not None
    # Operators rejected many matches at distances just under the current threshold: it must move below them.
    from footage.calibration import alert_threshold

    previous = alert_threshold()
    rejected = previous - 0.02
    for i in range(30):
        other = make_alert(charlies_case, charlie, eileen, track_id=100 + i, footage=footage)
        alert_not_this_person(actor=bob, alert=other)
        ReviewLabel.objects.filter(alert=other).update(distance=rejected)
    # A decision changed by override leaves one label, the latest: the earlier "different" never counts.
    changed = make_alert(charlies_case, charlie, eileen, track_id=200, footage=footage)
    alert_not_this_person(actor=bob, alert=changed)
    alert_confirm(actor=bob, alert=changed, note="same person after all: the glasses misled me", override=True)
    assert list(ReviewLabel.objects.filter(alert=changed).values_list("label", flat=True)) == ["same"]
    ReviewLabel.objects.filter(alert=changed).update(distance=confirmed.distance)
    out = StringIO()
    call_command("calibrate", stdout=out)
    saved = json.loads((Path(settings.VAR_DIR) / "matcher_threshold.json").read_text())
    assert confirmed.distance < saved["threshold"] < rejected
    assert saved["labels_different"] == 30 and saved["labels_same"] == 2
    assert saved["lfw_pairs"] == 820  # the shipped pairsDevTrain distances, not a research cache
    assert "expected false-alert rate" in out.getvalue()
    event = AuditEvent.objects.get(verb="calibrate")
    assert event.details["threshold"] == saved["threshold"]
    assert event.details["previous"] == pytest.approx(previous, abs=1e-4)


def test_the_analysis_stage_fails_an_undecodable_file_with_a_clear_reason(charlie: Any, charlies_case: Any,
                                                                           tmp_path: Path):
    from django.core.files.base import ContentFile

    from facecase.files import sha256_of_path
    from footage.analysis import analyze_footage
    from footage.jobs import JobReporter, ProcessingError

    footage = Footage(case=charlies_case, original_name="cam.mp4", sha256="", size=0, content_type="video/mp4",
                      kind=Footage.Kind.VIDEO, uploaded_by=charlie)
    footage.original.save("cam.mp4", ContentFile(b"not a video at all\n" * 64), save=False)
    footage.sha256, footage.size = sha256_of_path(footage.original.path), footage.original.size
    footage.save()
    with pytest.raises(ProcessingError, match="not a readable video"):
        analyze_footage(footage, JobReporter(footage))
    assert not Sighting.objects.filter(footage=footage).exists()


def test_the_alert_threshold_tightens_with_the_registry_size_unless_operators_recalibrated(
        settings: Any, tmp_path: Path):
    from enhancement.match import open_set_threshold
    from footage.calibration import alert_threshold, threshold_basis

    settings.VAR_DIR = tmp_path  # no operators' recalibration here
    settings.FACECASE_FALSE_ALERT_RATE = 0.01
    base = alert_threshold()
    assert alert_threshold(enrolled=None) == base
    sizes = [alert_threshold(enrolled=n) for n in (1, 20, 500)]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < base
    assert sizes[1] == pytest.approx(open_set_threshold(20, 0.01, ceiling=base))
    settings.FACECASE_FALSE_ALERT_RATE = 0.05  # a looser policy lets more through
    assert alert_threshold(enrolled=500) > sizes[-1]
    ceiling = alert_threshold(enrolled=500)
    (tmp_path / "matcher_threshold.json").write_text(json.dumps({"threshold": ceiling - 0.03}))
    assert alert_threshold(enrolled=500) == ceiling - 0.03  # operators measured their own false alerts: theirs stands
    (tmp_path / "matcher_threshold.json").write_text(json.dumps({"threshold": ceiling + 0.05}))
    assert alert_threshold(enrolled=500) == ceiling  # but it may not loosen past the registry-sized ceiling...
    assert "capped at the registry-sized ceiling" in threshold_basis(enrolled=500)
    (tmp_path / "matcher_threshold.json").write_text(json.dumps({"threshold": ceiling + 0.05,
                                                                 "allow_above_open_set": True}))
    assert alert_threshold(enrolled=500) == ceiling + 0.05  # ...unless an admin allowed it (audited by calibrate)


def test_a_corrupt_recalibration_file_is_an_error_in_the_log_and_the_basis(settings: Any, tmp_path: Path,
                                                                          caplog: Any):
    from footage.calibration import alert_threshold, threshold_basis

    settings.VAR_DIR = tmp_path
    shipped = alert_threshold(enrolled=20)
    (tmp_path / "matcher_threshold.json").write_text('{"threshold": 0.5')  # cut off mid-write

    with caplog.at_level("ERROR", logger="footage.calibration"):
        assert alert_threshold(enrolled=20) == shipped
    assert "unusable" in threshold_basis(enrolled=20)
    assert any("matcher_threshold.json is unreadable" in r.getMessage() for r in caplog.records)


def test_calibrate_needs_an_admin_to_loosen_past_the_open_set_ceiling(bob: Any, alice: Any, settings: Any,
                                                                       tmp_path: Path):
    from django.core.management.base import CommandError

    settings.VAR_DIR = tmp_path
    with pytest.raises(CommandError, match="active admin"):
        call_command("calibrate", "--allow-above-open-set", "bob", stdout=StringIO())
    call_command("calibrate", "--allow-above-open-set", "alice", stdout=StringIO())
    saved = json.loads((tmp_path / "matcher_threshold.json").read_text())
    assert saved["allow_above_open_set"] is True
    assert AuditEvent.objects.get(verb="calibrate").actor == alice


def test_the_calibration_page_shows_the_threshold_its_basis_and_a_corrupt_file(alice: Any, bob: Any,
                                                                              settings: Any, tmp_path: Path):
    from django.test import Client

    settings.VAR_DIR = tmp_path
    admin = Client()
    admin.force_login(alice)
    operator = Client()
    operator.force_login(bob)
    assert operator.get("/calibration/").status_code == 403
    page = admin.get("/calibration/").content.decode()
    assert "None yet: the shipped calibration applies" in page and "1 % false accepts" in page

    (tmp_path / "matcher_threshold.json").write_text("garbage")
    page = admin.get("/calibration/").content.decode()
    assert "recalibration cannot be used" in page and "unreadable" in page


def test_the_analysis_setting_reaches_uploads_and_cameras_and_an_unknown_field_fails_by_name(
        monkeypatch: Any, settings: Any, charlie: Any, charlies_case: Any):
    from django.core.exceptions import ImproperlyConfigured

    from cameras.models import Camera
    from cameras.runner import CameraWorker
    from facecase.env import env_json_object
    from footage.analysis import configured_analysis

    # what settings.py reads from the environment
    monkeypatch.setenv("FACECASE_ANALYSIS", '{"keep_best": 2, "step_params": {"lime": {"fast": true}}}')
    assert env_json_object("FACECASE_ANALYSIS", {}) == {"keep_best": 2, "step_params": {"lime": {"fast": True}}}
    for bad, why in (('["keep_best"]', "JSON object"), ('{"keep_best": 2', "not valid JSON")):
        monkeypatch.setenv("FACECASE_ANALYSIS", bad)
        with pytest.raises(ValueError, match=why):
            env_json_object("FACECASE_ANALYSIS", {})

    settings.FACECASE_ANALYSIS = {"keep_best": 2, "detect_every": 3}
    assert configured_analysis(enrolled=5).keep_best == 2
    camera = Camera.objects.create(name="Gate", source_url="rtsp://127.0.0.1:1/cam", analysis_fps=4.0, min_face_px=30)
    worker = CameraWorker(camera, "test-runner")
    worker.gallery = None
    config = worker._analysis_config()  # the setting, then the camera's own rate and face size on top
    assert (config.keep_best, config.detect_every, config.max_fps, config.min_face_px) == (2, 3, 4.0, 30)
    assert config.threshold == configured_analysis().threshold

    settings.FACECASE_ANALYSIS = {"keep_bset": 2}
    with pytest.raises(ImproperlyConfigured, match="keep_bset"):
        configured_analysis(enrolled=5)
    upload = SimpleUploadedFile("still.png", cv2.imencode(".png", astronaut_bgr())[1].tobytes(),
                                content_type="image/png")
    footage = footage_ingest(actor=charlie, case=charlies_case, upload=upload)
    assert process_footage(footage.pk) == "failed"
    footage.refresh_from_db()
    assert footage.status == Footage.Status.FAILED and "keep_bset" in footage.error
    assert Path(footage.original.path).exists()  # the upload is kept: fix the setting and reprocess

"""Face search and unknown-person profiles over live camera sightings, stored by the camera runner's own code.

A ``cameras.runner.CameraWorker`` is driven in this process: frames of a real clip go through the streaming frame
loop (``enhancement.analysis.stream``) at a camera's wall-clock times, and each track it reports is stored by the
worker's ``on_match``/``on_track``, exactly as ``manage.py run_cameras`` stores them (the post-commit hooks run).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import SHARED_DATA, shared_file
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from search_support import BBT, HDTF_CLIP, fresh_index, still_from  # noqa: F401 (fixture)

from cameras.models import Camera
from cameras.runner import CameraWorker
from cameras.services import camera_create
from facecase.models import AuditEvent
from facecase.services import case_create
from facesearch import index as sighting_index
from facesearch.models import CaseSighting, DescriptorChange, Profile, ProfileMember
from facesearch.services import face_search_run, profile_assign
from footage.models import Footage, Sighting
from footage.services import footage_ingest
from footage.signals import sighting_changed
from footage.tasks import process_footage
from research.profiles import split_clip

pytestmark = pytest.mark.django_db

SECRET = "camPW-77x"
CAPTURED = 1_800_000_000.0  # the camera's wall clock: 2027-01-15 UTC


def run_camera(camera: Camera, clip: Path, gallery: Any = None, version: Any = None, stride: int = 5) -> CameraWorker:
    """Feed every ``stride``-th frame of ``clip`` to a worker holding ``camera``'s lease; returns the worker after
    its loop closed every track (so each track was stored)."""
    from enhancement.analysis import stream_loop

    Camera.objects.filter(pk=camera.pk).update(runner="test-runner")
    camera.refresh_from_db()
    worker = CameraWorker(camera, "test-runner")
    worker.gallery, worker.version = gallery, version
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    loop, index = None, 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if index % stride == 0:
            if loop is None:
                loop = stream_loop(width=image.shape[1], height=image.shape[0], fps=fps / stride, gallery=gallery,
                                   config=worker._analysis_config(), on_match=worker.on_match,
                                   on_track=worker.on_track)
            loop.feed(image, CAPTURED + index / fps)
        index += 1
    capture.release()
    loop.close_all()
    return worker


def test_it_finds_a_camera_sighting_of_a_person_seen_in_an_uploaded_clip_and_hides_it_from_another_case(
        alice: Any, charlie: Any, dave: Any, charlies_case: Any, tmp_path: Path,
        django_capture_on_commit_callbacks: Any):
    pieces = split_clip(shared_file(HDTF_CLIP), 4, tmp_path / "hdtf")
    upload = footage_ingest(actor=charlie, case=charlies_case,
                            upload=SimpleUploadedFile(pieces[0].name, pieces[0].read_bytes()))
    with django_capture_on_commit_callbacks(execute=True):
        assert process_footage(upload.pk) == "done", Footage.objects.get(pk=upload.pk).error
    daves_case = case_create(actor=dave, reference="D-7", title="Lobby")
    camera = camera_create(actor=alice, name="Lobby cam", source_url=f"rtsp://ops:{SECRET}@10.1.1.9/live",
                           case=daves_case)
    with django_capture_on_commit_callbacks(execute=True):
        run_camera(camera, pieces[2])
    on_camera = set(Sighting.objects.filter(camera=camera).values_list("pk", flat=True))
    in_clip = set(Sighting.objects.filter(footage=upload).values_list("pk", flat=True))
    assert on_camera and in_clip
    assert all(s.captured_at.date() == dt.date(2027, 1, 15) for s in Sighting.objects.filter(camera=camera))
    probe = still_from(HDTF_CLIP, 175)  # a frame of the last piece: neither the clip nor the camera's

    # the admin finds the person on the camera and in the clip, the camera named and its case given
    everywhere = face_search_run(actor=alice, probe=probe, probe_name="witness.jpg")
    same = {r.sighting.pk for r in everywhere.results if r.same_person}
    assert on_camera <= same and in_clip <= same
    client = Client()
    client.force_login(alice)
    api = client.post("/api/search/", {"probe": SimpleUploadedFile("w.jpg", probe, "image/jpeg")})
    assert api.status_code == 200, api.content
    rows = {row["sighting"]["id"]: row["sighting"] for row in api.json()["results"]}
    live = rows[min(on_camera)]
    assert (live["source_kind"], live["source"], live["camera"], live["footage"]) == ("camera", "Lobby cam",
                                                                                      camera.pk, None)
    assert (live["case"], live["case_reference"]) == (daves_case.pk, "D-7")
    assert live["seen_at"].startswith("2027-01-15")
    assert rows[min(in_clip)]["source_kind"] == "footage" and rows[min(in_clip)]["case"] == charlies_case.pk
    assert SECRET not in api.content.decode()
    page = client.post("/search/face/", {"probe": SimpleUploadedFile("w.jpg", probe, "image/jpeg")}).content.decode()
    assert "camera Lobby cam" in page and SECRET not in page

    # filters: the camera's case, its name, and its capture time (not when the row was stored)
    def found(actor: Any, **filters: Any) -> set[int]:
        return {r.sighting.pk for r in face_search_run(actor=actor, probe=probe, filters=filters).results}

    assert found(alice, case=daves_case.pk) == on_camera
    assert found(alice, source="lobby") == on_camera
    assert found(alice, source=pieces[0].name[:12]) == in_clip
    assert found(alice, date_from="2027-01-15", date_to="2027-01-15") == on_camera
    assert found(alice, date_to="2027-01-14") == in_clip
    assert found(alice, min_score=0.5) == same

    # analysts: Dave sees his case's camera, Charlie his clip only; nothing of the other is counted or audited
    assert found(dave) == on_camera
    charlies = face_search_run(actor=charlie, probe=probe)
    assert {r.sighting.pk for r in charlies.results} == in_clip and charlies.search.result_count == len(in_clip)
    top = AuditEvent.objects.get(verb="face_search", object_id=str(charlies.search.pk)).details["top"]
    assert not {row["sighting"] for row in top} & on_camera

    # unknown faces from the camera join the profile of the same person's clip
    profiles = set(ProfileMember.objects.filter(sighting__in=on_camera | in_clip).values_list("profile", flat=True))
    assert len(profiles) == 1
    dave_client = Client()
    dave_client.force_login(dave)
    timeline = dave_client.get(f"/api/profiles/{profiles.pop()}/").json()["appearances"]
    assert {a["id"] for a in timeline} == on_camera and {a["source_kind"] for a in timeline} == {"camera"}

    # "add to case": the admin attaches a camera sighting to Charlie's case (no footage to bring along)
    attached = min(on_camera)
    response = client.post(f"/sightings/{attached}/add-to-case/", {"case": charlies_case.pk})
    assert response.status_code == 302
    assert CaseSighting.objects.filter(case=charlies_case, sighting_id=attached).exists()
    event = AuditEvent.objects.get(verb="attach_sighting", object_id=str(charlies_case.pk))
    assert event.details["camera"] == camera.pk and event.details["footage"] is None
    assert event.details["from_case"] == daves_case.pk
    assert found(charlie) == in_clip | {attached}
    charlie_client = Client()
    charlie_client.force_login(charlie)
    case_page = charlie_client.get(f"/cases/{charlies_case.pk}/").content.decode()
    assert f"sighting {attached}<" in case_page and "camera Lobby cam" in case_page and SECRET not in case_page


def test_it_replaces_a_live_tracks_vector_in_every_index_when_its_crops_improve(
        alice: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any):
    """The synthetic clip of the enrolled astronaut on a camera: the track matches early; a later, better match
    replaces the sighting's crops and descriptor. The process that stored it and another one (a web host holding an
    index built before) both hold the new vector, once."""
    from enhancement.analysis import stream_loop
    from enhancement.detect import detect_faces
    from enhancement.embed import embed_face
    from enhancement.match import Gallery
    from enhancement.synthetic import astronaut_bgr, make_cctv_clip
    from suspects.services import suspect_create

    suspect = suspect_create(actor=alice, name="Astronaut", external_id="AST-1")
    face = astronaut_bgr()
    gallery = Gallery(np.asarray([embed_face(face, box=detect_faces(face)[0].box)]), [str(suspect.pk)])
    clip = make_cctv_clip(tmp_path / "walk.mp4", seconds=4.0, fps=10.0)
    matches: list[Any] = []
    capture, t, loop = cv2.VideoCapture(str(clip.path)), CAPTURED, None
    while True:
        ok, image = capture.read()
        if not ok:
            break
        t += 0.1
        if loop is None:
            loop = stream_loop(width=image.shape[1], height=image.shape[0], fps=10.0, gallery=gallery,
                               on_match=matches.append)
        loop.feed(image, t)
    loop.close_all()
    ranked = sorted(matches, key=lambda r: r.enhanced.score)
    worse, better = ranked[0], ranked[-1]
    assert better.enhanced.score > worse.enhanced.score and better.track_id == worse.track_id

    camera = camera_create(actor=alice, name="Gate", source_url="/dev/video9")
    Camera.objects.filter(pk=camera.pk).update(runner="test-runner")
    camera.refresh_from_db()
    worker = CameraWorker(camera, "test-runner")
    worker.gallery, worker.version = gallery, None
    with django_capture_on_commit_callbacks(execute=True):
        worker.on_match(worse)
    sighting = Sighting.objects.get(camera=camera)
    first = np.frombuffer(bytes(sighting.embedding), np.float32).copy()
    here = sighting_index.sighting_index()
    assert np.allclose(here.vectors_of([sighting.pk])[sighting.pk], first)
    elsewhere = sighting_index.build_from_database()  # another process's index, built before the update
    seen_there = sighting_index.changes_now()
    size_here, size_there = len(here), len(elsewhere)

    with django_capture_on_commit_callbacks(execute=True):
        worker.on_match(better)
    sighting.refresh_from_db()
    improved = np.frombuffer(bytes(sighting.embedding), np.float32)
    assert not np.allclose(improved, first)
    assert DescriptorChange.objects.filter(sighting=sighting).count() == 1
    assert np.allclose(sighting_index.sighting_index().vectors_of([sighting.pk])[sighting.pk], improved)
    assert len(sighting_index.sighting_index()) == size_here  # replaced, not added
    added, seen_there = sighting_index.catch_up(elsewhere, seen_there)
    assert added == 0 and len(elsewhere) == size_there
    assert np.allclose(elsewhere.vectors_of([sighting.pk])[sighting.pk], improved)
    hits = [n.id for n in elsewhere.search(improved, 10)]
    assert hits.count(sighting.pk) == 1 and hits[0] == sighting.pk
    assert sighting_index.catch_up(elsewhere, seen_there) == (0, seen_there)  # replayed once

    # a snapshot written now says which changes it holds: loading it replays nothing more
    sighting_index.rebuild()
    sighting_index.forget()
    assert np.allclose(sighting_index.sighting_index().vectors_of([sighting.pk])[sighting.pk], improved)


def bbt_sighting(footage: Footage, track_id: int, name: str) -> Sighting:
    from django.core.files.base import ContentFile

    from enhancement.embed import embed_face

    who = name.rstrip("0123456789")
    image = cv2.imread(str(shared_file(BBT / who / f"{name}.png")))
    sighting = Sighting(footage=footage, track_id=track_id, first_frame=0, last_frame=0, first_ts=0.0, last_ts=0.0,
                        box=[0, 0, image.shape[1], image.shape[0]], best_frame_index=0,
                        embedding=np.asarray(embed_face(image), np.float32).tobytes())
    sighting.raw_crop.save("raw.png", ContentFile(cv2.imencode(".png", image)[1].tobytes()), save=False)
    sighting.save()
    return sighting


def change_descriptor(sighting: Sighting, like: Sighting, hooks: Any) -> None:
    """What the camera runner does when later crops improve a track: new descriptor, the signal, the commit."""
    with hooks(execute=True), transaction.atomic():
        sighting.embedding = like.embedding
        sighting.save()
        sighting_changed.send_robust(Sighting, sighting_id=sighting.pk)


def test_it_moves_a_sighting_to_the_profile_its_new_descriptor_belongs_to(
        charlie: Any, charlies_case: Any, django_capture_on_commit_callbacks: Any):
    still = shared_file(SHARED_DATA / "face_recognition_examples" / "obama-240p.jpg").read_bytes()
    footage = footage_ingest(actor=charlie, case=charlies_case, upload=SimpleUploadedFile("s.jpg", still))
    names = ["penny2", "penny4", "sheldon1", "sheldon2", "raj2"]
    sightings = dict(zip(names, (bbt_sighting(footage, i, n) for i, n in enumerate(names)), strict=True))
    profile = {n: profile_assign(s).pk for n, s in sightings.items()}
    assert profile["penny2"] == profile["penny4"] and profile["sheldon1"] == profile["sheldon2"]
    assert len({profile["penny2"], profile["sheldon1"], profile["raj2"]}) == 3
    sheldon3 = bbt_sighting(footage, 9, "sheldon3")  # stored without the hook: only a descriptor to borrow
    ProfileMember.objects.filter(sighting=sheldon3).delete()

    change_descriptor(sightings["penny4"], sheldon3, django_capture_on_commit_callbacks)
    assert ProfileMember.objects.get(sighting=sightings["penny4"]).profile_id == profile["sheldon1"]
    assert ProfileMember.objects.get(sighting=sightings["penny2"]).profile_id == profile["penny2"]
    leave = AuditEvent.objects.get(verb="profile_leave", object_id=str(profile["penny2"]))
    assert leave.details == {"sighting": sightings["penny4"].pk, "profile": profile["sheldon1"],
                             "reason": "descriptor changed"}
    hits = [n.id for n in sighting_index.sighting_index().search(np.frombuffer(sheldon3.embedding, np.float32), 10)]
    assert hits.count(sightings["penny4"].pk) == 1

    # Raj's only sighting moves too: his emptied profile is marked merged into Sheldon's
    change_descriptor(sightings["raj2"], sheldon3, django_capture_on_commit_callbacks)
    raj = Profile.objects.get(pk=profile["raj2"])
    assert raj.status == Profile.Status.MERGED and raj.merged_into_id == profile["sheldon1"]

    # a profile an analyst shaped stands: Penny's, once curated, keeps its sighting whatever its descriptor
    Profile.objects.filter(pk=profile["penny2"]).update(curated=True)
    change_descriptor(sightings["penny2"], sheldon3, django_capture_on_commit_callbacks)
    assert ProfileMember.objects.get(sighting=sightings["penny2"]).profile_id == profile["penny2"]


def test_it_lets_an_analyst_promote_a_profile_through_the_face_check_and_the_registry_rebuild(
        charlie: Any, charlies_case: Any, django_capture_on_commit_callbacks: Any):
    from suspects.models import RegistryRebuild, Suspect

    still = shared_file(SHARED_DATA / "face_recognition_examples" / "obama-240p.jpg").read_bytes()
    footage = footage_ingest(actor=charlie, case=charlies_case, upload=SimpleUploadedFile("s.jpg", still))
    sightings = [bbt_sighting(footage, i, n) for i, n in enumerate(["howard1", "howard2"])]
    profile = [profile_assign(s) for s in sightings][0]
    client = Client()
    client.force_login(charlie)
    refused = client.post(f"/api/profiles/{profile.pk}/promote/", {"name": "H", "external_id": "H-1",
                                                                    "status": "wanted"},
                          content_type="application/json")
    assert refused.status_code == 400 and "status" in refused.json()
    assert not Suspect.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        promoted = client.post(f"/api/profiles/{profile.pk}/promote/", {"name": "Howard", "external_id": "H-1"},
                               content_type="application/json")
    assert promoted.status_code == 201, promoted.content
    suspect = Suspect.objects.get(pk=promoted.json()["suspect"])
    assert suspect.status == Suspect.Status.PERSON_OF_INTEREST and suspect.photos.count() == 2
    assert RegistryRebuild.objects.filter(status=RegistryRebuild.Status.QUEUED).exists()
    verbs = set(AuditEvent.objects.filter(actor=charlie).values_list("verb", flat=True))
    assert {"create", "add_photo", "enrol_from_sightings", "promote"} <= verbs

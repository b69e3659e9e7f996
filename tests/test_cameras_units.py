"""Cameras without a stream: credentials masked everywhere, who may see and manage cameras (pages and API, audited),
and the streaming frame loop alerting on an open track before the track ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from cameras.sources import mask_text, mask_url, source_kind

SECRET = "hunter2-Zq9"


def test_it_masks_credentials_in_every_kind_of_source_url():
    assert mask_url(f"rtsp://admin:{SECRET}@10.0.0.5:554/Streaming/101") == "rtsp://***@10.0.0.5:554/Streaming/101"
    assert mask_url(f"http://cam.local/video.mjpg?user=ops&pwd={SECRET}") == "http://cam.local/video.mjpg?user=ops&pwd=***"
    assert mask_url(f"https://x/stream?token={SECRET}&fps=5") == "https://x/stream?token=***&fps=5"
    assert mask_url("/dev/video0") == "/dev/video0" and source_kind("/dev/video0") == "device"
    assert source_kind("/srv/demo.mp4") == "file" and source_kind("rtsp://h/x") == "rtsp"
    url = f"rtsp://admin:{SECRET}@10.0.0.5/x"
    assert SECRET not in mask_text(f"could not open {url}; auth {SECRET} refused", url)


def make_camera(actor: Any, name: str = "Gate", **extra: Any) -> Any:
    from cameras.services import camera_create

    return camera_create(actor=actor, name=name, source_url=f"rtsp://admin:{SECRET}@10.0.0.5:554/x", **extra)


@pytest.mark.django_db
def test_it_lets_admins_manage_cameras_through_the_api_with_the_password_never_answered(alice: Any, bob: Any,
                                                                                          mallory: Any):
    from facecase.models import AuditEvent

    admin, operator, nobody = Client(), Client(), Client()
    admin.force_login(alice)
    operator.force_login(bob)
    nobody.force_login(mallory)
    body = {"name": "Car park", "source_url": f"rtsp://admin:{SECRET}@10.0.0.5:554/x", "analysis_fps": 4}
    assert operator.post("/api/cameras/", body, content_type="application/json").status_code == 403
    assert nobody.get("/api/cameras/").status_code == 403
    created = admin.post("/api/cameras/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    camera = created.json()
    assert camera["source"] == "rtsp://***@10.0.0.5:554/x" and camera["health"] == "idle" and camera["case"] is None
    bad = admin.post("/api/cameras/", {**body, "name": "Bad", "source_url": "ftp://x/y"},
                     content_type="application/json")
    assert bad.status_code == 400 and "source_url" in bad.json()
    patched = admin.patch(f"/api/cameras/{camera['id']}/", {"enabled": False, "source_url": f"rtsp://u:{SECRET}@h/y"},
                          content_type="application/json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert operator.get(f"/api/cameras/{camera['id']}/").status_code == 200
    assert operator.patch(f"/api/cameras/{camera['id']}/", {"enabled": True},
                          content_type="application/json").status_code == 403
    assert admin.delete(f"/api/cameras/{camera['id']}/").status_code == 204
    assert admin.get(f"/api/cameras/{camera['id']}/").status_code == 404
    events = list(AuditEvent.objects.filter(object_type="cameras.camera").values_list("verb", "details"))
    assert sorted(verb for verb, _ in events) == ["create", "delete", "update"]
    assert all(SECRET not in str(details) for _, details in events)
    for client in (admin, operator):
        assert SECRET not in client.get("/api/cameras/").content.decode()


@pytest.mark.django_db
def test_it_shows_analysts_only_the_cameras_of_their_cases(alice: Any, bob: Any, charlie: Any, dave: Any,
                                                            charlies_case: Any):
    on_case = make_camera(alice, "Platform 2", case=charlies_case)
    elsewhere = make_camera(alice, "Depot")
    as_charlie, as_dave, as_bob = Client(), Client(), Client()
    as_charlie.force_login(charlie)
    as_dave.force_login(dave)
    as_bob.force_login(bob)
    wall = as_charlie.get("/cameras/").content.decode()
    assert "Platform 2" in wall and "Depot" not in wall
    assert as_charlie.get(f"/cameras/{elsewhere.pk}/").status_code == 404
    assert as_dave.get(f"/cameras/{on_case.pk}/").status_code == 404
    assert [c["name"] for c in as_charlie.get("/api/cameras/").json()["results"]] == ["Platform 2"]
    assert {c["name"] for c in as_bob.get("/cameras/status/").json()["cameras"]} == {"Platform 2", "Depot"}
    assert as_bob.get("/cameras/new/").status_code == 403  # operators watch, admins manage
    assert as_charlie.get(f"/cameras/{on_case.pk}/snapshot.jpg").status_code == 404  # no frame yet
    page = as_bob.get(f"/cameras/{on_case.pk}/").content.decode()
    assert "rtsp://***@10.0.0.5:554/x" in page and SECRET not in page


@pytest.mark.django_db
def test_it_keeps_the_stored_source_when_an_admin_saves_the_form_without_one(alice: Any):
    camera = make_camera(alice, "Lobby")
    admin = Client()
    admin.force_login(alice)
    form = admin.get(f"/cameras/{camera.pk}/edit/").content.decode()
    assert SECRET not in form and "rtsp://***@10.0.0.5:554/x" in form
    answer = admin.post(f"/cameras/{camera.pk}/edit/", {"name": "Lobby east", "source_url": "", "enabled": "on",
                                                         "analysis_fps": "3", "detector": "haar", "min_face_px": "24"})
    assert answer.status_code == 302
    camera.refresh_from_db()
    assert camera.name == "Lobby east" and camera.analysis_fps == 3 and SECRET in camera.source_url


@pytest.mark.parametrize("background", [False, True], ids=["in-feed", "matching-thread"])
def test_it_alerts_on_an_open_track_as_soon_as_it_matches(tmp_path: Path, background: bool):
    """The streaming loop on the synthetic clip of the enrolled astronaut: the first match comes while the track is
    still open (long before its last frame), later matches of the same track follow, one finished track. With
    ``background`` (as run_cameras runs it) the matching and both callbacks run in the loop's own thread, never in
    the one feeding frames, and ``close`` hands over every result before it returns."""
    import threading

    import cv2
    import numpy as np

    from enhancement.analysis import stream_loop
    from enhancement.detect import detect_faces
    from enhancement.embed import embed_face
    from enhancement.match import Gallery
    from enhancement.synthetic import astronaut_bgr, make_cctv_clip

    clip = make_cctv_clip(tmp_path / "walk.mp4", seconds=4.0, fps=10.0)
    face = astronaut_bgr()
    gallery = Gallery(np.asarray([embed_face(face, box=detect_faces(face)[0].box)]), ["7"])
    matches, finished, threads, exits = [], [], set(), []

    def on_match(result: Any) -> None:
        threads.add(threading.get_ident())
        matches.append(result)

    def on_track(result: Any) -> None:
        threads.add(threading.get_ident())
        finished.append(result)

    capture = cv2.VideoCapture(str(clip.path))
    loop, t = None, 1_800_000_000.0  # wall-clock capture times, as a camera gives them
    while True:
        ok, image = capture.read()
        if not ok:
            break
        t += 0.2
        if loop is None:
            loop = stream_loop(width=image.shape[1], height=image.shape[0], fps=5.0, gallery=gallery,
                               on_match=on_match, on_track=on_track, background=background,
                               thread_exit=lambda: exits.append(threading.get_ident()))
        loop.feed(image, t)
        if capture.get(cv2.CAP_PROP_POS_FRAMES) % 2:
            capture.grab()  # 10 fps clip analysed at 5 fps
    loop.close_all()
    loop.close()
    assert len(finished) == 1 and finished[0].decision == "7"
    first = matches[0]
    assert first.decision == "7" and first.track_id == finished[0].track_id
    assert first.last_frame < finished[0].last_frame and first.timestamps[-1] < finished[0].timestamps[-1] - 1.0
    assert all(m.track_id == first.track_id for m in matches)
    # once matched, the track is matched again only to improve the sighting, at most every improve_every_s (2 s)
    assert all(b.timestamps[-1] - a.timestamps[-1] >= 2.0 - 1e-6 for a, b in zip(matches, matches[1:], strict=False))
    if background:
        assert threads == set(exits) and threading.get_ident() not in threads and loop.pending == 0
        assert not loop.worker.is_alive()
    else:
        assert threads == {threading.get_ident()} and exits == []


def test_a_failure_in_the_matching_thread_fails_the_next_frame():
    """run_cameras marks a camera failed when its analysis raises; with matching in the loop's thread, the error
    must still reach the camera's thread, at its next frame."""
    import numpy as np

    from enhancement.analysis import stream_loop
    from enhancement.synthetic import astronaut_bgr

    def boom(result: Any) -> None:
        raise RuntimeError("the database went away")

    face = astronaut_bgr()
    loop = stream_loop(width=face.shape[1], height=face.shape[0], fps=5.0, gallery=None, on_match=boom,
                       on_track=boom, background=True)
    t = 1_800_000_000.0
    for _ in range(3):  # one track of three detections, closed by close_all: its final result raises
        t += 0.2
        loop.feed(face, t)
    loop.close_all()
    loop.wait_idle()
    with pytest.raises(RuntimeError, match="database went away"):
        loop.feed(np.ascontiguousarray(face), t + 0.2)
    loop.close()


def test_a_closed_tracks_final_match_counts_as_lag_from_the_frame_that_closed_it_not_from_its_last_face():
    """A track closes ``max_gap_seconds`` after its last detection; its final match is about that detection (the
    clip ring keeps frames from there) but the camera is behind only from the frame that queued it: the gap rule is
    a deliberate wait, not a backlog (counting from the last face put every camera's lag over 1.2 s at each close)."""
    import threading

    import numpy as np

    from enhancement.analysis import stream_loop
    from enhancement.synthetic import astronaut_bgr

    face = astronaut_bgr()
    blank = np.zeros_like(face)
    started, release = threading.Event(), threading.Event()

    def on_track(result: Any) -> None:
        started.set()
        release.wait(30)

    loop = stream_loop(width=face.shape[1], height=face.shape[0], fps=5.0, gallery=None, on_match=lambda r: None,
                       on_track=on_track, background=True)
    t = 1_800_000_000.0
    try:
        for _ in range(3):
            t += 0.2
            loop.feed(face, t)
        last_face = t
        while not started.is_set() and t < last_face + 5.0:
            t += 0.2
            loop.feed(blank, t)
            started.wait(0.5)
        assert started.is_set(), "the track never closed"
        assert loop.oldest_pending() == pytest.approx(last_face)
        assert loop.behind_since() == pytest.approx(t) and t >= last_face + 1.0
    finally:
        release.set()
        loop.close()
    assert loop.behind_since() is None and loop.oldest_pending() is None


def test_the_runner_hands_freed_heap_pages_back_to_the_system():
    """Freed blocks scattered among live ones keep their pages in the process (RSS stays up, and crept up over a
    30-minute live run); the runner's periodic heap trim gives them back."""
    import psutil

    from cameras.runner import HeapTrim

    trim = HeapTrim(every_s=0)
    if trim.trim is None:
        pytest.skip("this C library has no malloc_trim")
    process = psutil.Process()
    blocks = [bytes(2000) for _ in range(100_000)]  # ~200 MB in malloc'd blocks (too large for Python's own pools)
    keep = blocks[::50]  # one block in fifty stays alive: no page at the heap's end is free, plain free() keeps all
    del blocks
    before = process.memory_info().rss
    assert trim.maybe_trim()
    after = process.memory_info().rss
    assert before - after > 100 * 2**20, (before >> 20, after >> 20)
    assert len(keep) == 2000


def test_it_encodes_an_evidence_clip_a_browser_plays_with_the_capture_times_kept(tmp_path: Path):
    """The clip is WebM/VP8 (what the review page's <video> plays), every frame is in it at the first frame's size
    (odd sides rounded to even), and a gap where frames were dropped stays a gap: the clip lasts as long as the
    capture did, not frames / fps."""
    import cv2
    import numpy as np

    from cameras.runner import encode_clip
    from enhancement.synthetic import astronaut_bgr
    from enhancement.video import count_frames
    from facecase.files import check_video

    face = cv2.resize(astronaut_bgr(), (481, 271))
    times = [0.0, 0.2, 0.4, 0.6, 2.6, 2.8, 3.0]  # two seconds dropped in the middle
    frames = [(1_700_000_000.0 + t, np.roll(face, 4 * i, axis=1)) for i, t in enumerate(times)]
    frames[3] = (frames[3][0], cv2.resize(face, (240, 136)))  # a frame of another size is scaled, not refused
    data = encode_clip(frames, fps=5.0)
    path = tmp_path / "clip.webm"
    path.write_bytes(data)
    assert check_video(path) == "video/webm"  # the upload checks accept it as WebM
    capture = cv2.VideoCapture(str(path))
    decoded = []
    while (read := capture.read())[0]:
        decoded.append((capture.get(cv2.CAP_PROP_POS_MSEC), read[1]))
    capture.release()
    assert len(decoded) == len(frames)
    assert all(image.shape == (270, 480, 3) for _, image in decoded)
    starts = [ms for ms, _ in decoded]
    assert starts[4] - starts[3] == pytest.approx(2000, abs=60)  # the gap survived encoding
    # The same picture came out (VP8 is lossy: compared at the level of a few grey levels, not bit for bit).
    assert float(np.abs(decoded[0][1].astype(int) - face[:270, :480].astype(int)).mean()) < 12

    # The alternative encoder (FACECASE_CAMERAS_CLIP_ENCODER=opencv) makes a playable WebM of every frame too.
    path.write_bytes(encode_clip(frames, fps=5.0, encoder="opencv"))
    assert check_video(path) == "video/webm"
    assert count_frames(path) == len(frames)
    with pytest.raises(ValueError, match="unknown clip encoder"):
        encode_clip(frames, fps=5.0, encoder="mjpeg")

"""Streaming decode, motion gate, tracker and best-crop ranking on real footage (no database)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from enhancement.datasets import has_shared_data, shared_data_dir
from enhancement.detect import detect_faces
from enhancement.frames import BestCrops, crop_quality, frontalness
from enhancement.synthetic import make_cctv_clip
from enhancement.track import Tracker
from enhancement.video import DecodeError, FrameReader, MotionGate, probe

needs_shared = pytest.mark.skipif(not has_shared_data(), reason="../shared/data is absent (fresh clone)")


def hamilton() -> Path:
    return shared_data_dir() / "face_recognition_examples" / "short_hamilton_clip.mp4"


@pytest.fixture(scope="module")
def synthetic_clip(tmp_path_factory: pytest.TempPathFactory):
    return make_cctv_clip(tmp_path_factory.mktemp("synthetic") / "cctv.mp4", seconds=4.0)


@needs_shared
def test_it_streams_every_frame_of_the_hamilton_clip_with_timestamps() -> None:
    reader = FrameReader(hamilton())
    indices, stamps = [], []
    for frame in reader:
        assert frame.image.shape == (360, 640, 3) and frame.image.dtype == np.uint8
        indices.append(frame.index)
        stamps.append(frame.timestamp)
    assert indices == list(range(275))
    assert stamps[-1] == pytest.approx(274 / 29.97, abs=1e-3)
    assert not reader.report.stopped_early


@needs_shared
def test_it_analyses_only_every_third_frame_at_ten_fps() -> None:
    reader = FrameReader(hamilton(), max_fps=10)
    indices = [f.index for f in reader]
    assert reader.step == 3
    assert indices == list(range(0, 275, 3))
    assert reader.report.frames_read == 275  # skipped frames are still grabbed, so the report covers the whole file


@needs_shared
def test_it_resumes_from_a_given_frame() -> None:
    indices = [f.index for f in FrameReader(hamilton(), max_fps=10, start_frame=150)]
    assert indices[0] == 150 and indices[-1] == 273


@needs_shared
def test_it_reads_a_gif_frame_by_frame_with_its_own_timing() -> None:
    gif = shared_data_dir() / "intel_sample_videos" / "preview" / "face-demographics-walking.gif"
    info = probe(gif)
    frames = list(FrameReader(gif))
    assert info.kind == "video" and (info.width, info.height) == (480, 270)
    assert len(frames) == info.frame_count == 35
    assert all(b.timestamp > a.timestamp for a, b in zip(frames, frames[1:], strict=False))


@needs_shared
def test_it_treats_a_photo_as_footage_of_one_frame() -> None:
    photo = shared_data_dir() / "faceapi_bbt" / "images" / "bbt1.jpg"
    frames = list(FrameReader(photo, max_fps=5))
    assert probe(photo).kind == "image"
    assert [f.index for f in frames] == [0]


@needs_shared
def test_it_keeps_the_frames_of_a_video_cut_off_halfway_and_says_where_it_stopped(tmp_path: Path) -> None:
    full = tmp_path / "clip.avi"  # AVI/MJPEG keeps its frames readable when the end (and its index) is lost
    cap = cv2.VideoCapture(str(hamilton()))
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 29.97, (640, 360))
    while (frame := cap.read()[1]) is not None:
        writer.write(frame)
    writer.release()
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    reader = FrameReader(cut)
    read = sum(1 for _ in reader)
    assert 100 < read < 200
    assert reader.report.stopped_early
    assert f"stopped at frame {read} of 275" in reader.report.reason


def test_it_refuses_a_text_file_named_like_a_video_with_a_clear_reason(tmp_path: Path) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_text("this is not a video\n" * 100)
    with pytest.raises(DecodeError, match="not a readable video"):
        probe(fake)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(DecodeError, match="empty"):
        FrameReader(empty)


def test_it_sees_no_motion_in_a_still_scene_and_finds_the_walker_in_the_synthetic_clip(synthetic_clip) -> None:
    gate = MotionGate()
    frames = [f.image for f in FrameReader(synthetic_clip.path)]
    assert gate.update(frames[0]) == (0, 0, 640, 360)  # the first frame is all new
    assert gate.update(frames[0]) is None
    region = gate.update(frames[10])
    assert region is not None
    face = detect_faces(frames[10], equalize=False)[0].box
    x, y, w, h = region
    # The changed region covers the walker's face and is much smaller than the frame.
    assert x <= face[0] + face[2] // 2 <= x + w and y <= face[1] + face[3] // 2 <= y + h
    assert w * h < 0.6 * 640 * 360


@pytest.mark.parametrize("size, target", [((720, 1280), (96, 54)), ((720, 1280), (480, 270)),
                                          ((1080, 1920), (480, 270)), ((701, 1001), (96, 67)), ((50, 60), (96, 80))])
def test_shrink_averages_like_one_area_resize_at_the_size_asked(size: tuple[int, int],
                                                                target: tuple[int, int]) -> None:
    """The two-step area downscale (a whole-ratio step, then the rest) used for motion thumbnails and clip frames:
    the size asked for, and within a few grey levels of OpenCV's one-step INTER_AREA on a real photo."""
    from enhancement.images import shrink
    from enhancement.synthetic import astronaut_bgr

    image = cv2.resize(astronaut_bgr(), (size[1], size[0]), interpolation=cv2.INTER_CUBIC)
    out = shrink(image, *target)
    direct = cv2.resize(image, target, interpolation=cv2.INTER_AREA)
    assert out.shape == direct.shape == (target[1], target[0], 3)
    assert np.abs(out.astype(int) - direct.astype(int)).mean() < 2.0


def test_it_follows_the_synthetic_walker_as_one_track(synthetic_clip) -> None:
    tracker = Tracker(max_gap=5)
    closed = []
    for frame in FrameReader(synthetic_clip.path):
        # Global equalisation washes out the bright face on the dark synthetic scene (the analysis uses CLAHE).
        dets = [(d.box, d.confidence, d.landmarks) for d in detect_faces(frame.image, min_size=40, equalize=False)
                if d.box[2] < 120]  # the walker's face is ~60 px; ignore Haar's occasional huge false box
        closed += tracker.update(frame.index, frame.timestamp, dets)
    closed += tracker.finish()
    longest = max(closed, key=lambda t: len(t.points))
    assert len(longest.points) >= 0.8 * synthetic_clip.frames
    xs = [p.box[0] for p in longest.points]
    assert xs[-1] - xs[0] > 250  # it really walked across the frame, and we stayed with it


@needs_shared
def test_it_turns_hamilton_detections_into_a_few_long_tracks_not_hundreds() -> None:
    tracker = Tracker(max_gap=30)
    closed, detections = [], 0
    for frame in FrameReader(hamilton(), max_fps=10):
        dets = [(d.box, d.confidence, d.landmarks) for d in detect_faces(frame.image, min_size=28)]
        detections += len(dets)
        closed += tracker.update(frame.index, frame.timestamp, dets)
    closed += tracker.finish()
    long_tracks = [t for t in closed if len(t.points) >= 5]
    assert detections > 50
    assert 2 <= len(long_tracks) <= 6
    # Lin-Manuel Miranda on stage (frames ~30-210) is one track despite Haar missing him on many frames.
    assert max(t.last_frame - t.first_frame for t in long_tracks) > 120


def test_it_continues_a_track_across_a_short_gap_and_starts_a_new_one_after_a_long_gap() -> None:
    tracker = Tracker(max_gap=5)
    tracker.update(0, 0.0, [((100, 100, 50, 50), 0.9, None)])
    tracker.update(4, 0.4, [((110, 102, 50, 50), 0.9, None)])  # 4 frames missed, moved 10 px: same person
    assert len(tracker.active) == 1 and len(tracker.active[0].points) == 2
    closed = tracker.update(20, 2.0, [((112, 100, 50, 50), 0.9, None)])
    assert [len(t.points) for t in closed] == [2]
    assert len(tracker.active) == 1 and tracker.active[0].first_frame == 20


def test_it_keeps_two_people_side_by_side_apart() -> None:
    tracker = Tracker(max_gap=5)
    for i in range(10):
        tracker.update(i, i / 10, [((100 + 3 * i, 100, 50, 50), 0.9, None), ((300 - 3 * i, 100, 50, 50), 0.9, None)])
    a, b = sorted(tracker.finish(), key=lambda t: t.points[0].box[0])
    assert [p.box[0] for p in a.points] == [100 + 3 * i for i in range(10)]
    assert [p.box[0] for p in b.points] == [300 - 3 * i for i in range(10)]


def test_it_ranks_a_sharp_bright_face_above_a_blurred_dark_one() -> None:
    from enhancement.synthetic import ASTRONAUT_FACE, astronaut_bgr

    image = astronaut_bgr()
    x, y, w, h = ASTRONAUT_FACE
    blurred_dark = (cv2.GaussianBlur(image, (0, 0), 4) * 0.25).astype(np.uint8)
    store = BestCrops(keep=2)
    store.offer(blurred_dark, 0, 0.0, ASTRONAUT_FACE)
    store.offer(image, 1, 0.1, ASTRONAUT_FACE)
    small = cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)
    store.offer(small, 2, 0.2, (x // 4, y // 4, w // 4, h // 4))
    best = store.best()
    assert [c.frame_index for c in best] == [1, 2]  # the dark blurred frame is dropped
    assert best[0].quality.score > crop_quality(blurred_dark[y:y + h, x:x + w]).score
    assert best[0].crop.shape[0] > h  # kept with a margin around the face
    bx, by, bw, bh = best[0].box_in_crop
    assert np.array_equal(best[0].crop[by:by + bh, bx:bx + bw], image[y:y + h, x:x + w])


def test_it_scores_a_frontal_face_above_a_turned_one_from_landmarks() -> None:
    frontal = [(40, 50), (80, 50), (60, 70), (45, 90), (75, 90)]
    turned = [(40, 50), (80, 50), (76, 70), (60, 90), (85, 90)]
    assert frontalness(frontal) == pytest.approx(1.0)
    assert frontalness(turned) < 0.3
    assert frontalness(None) is None


@needs_shared
def test_it_resumes_from_a_checkpoint_exactly_as_the_uninterrupted_run() -> None:
    from enhancement.analysis import AnalysisConfig, analyze_video

    config = AnalysisConfig(enhance=False, checkpoint_every_s=3.0)
    emitted: list[int] = []
    snapshots: list[tuple[int, int, bytes]] = []  # (frame, tracks emitted before it, blob)
    full = analyze_video(hamilton(), gallery=None, config=config, on_track=lambda t: emitted.append(t.track_id),
                         checkpoint_cb=lambda i, b: snapshots.append((i, len(emitted), b)))
    assert len(snapshots) >= 2
    frame, done_before, blob = snapshots[1]  # mid-clip, with Lin-Manuel Miranda's track open
    resumed = analyze_video(hamilton(), gallery=None, config=config, resume_from=blob)

    def signature(tracks):
        return [(t.track_id, t.frames, t.boxes, [c.frame_index for c in t.crops]) for t in tracks]

    assert signature(resumed.tracks) == signature(full.tracks[done_before:])
    assert any(t.first_frame < frame for t in resumed.tracks)  # a track open at the checkpoint was carried over

"""``manage.py run_cameras``: one reader + analysis thread per enabled camera this runner holds a lease on.

Leases: a camera is read by exactly one runner. A runner claims a free or stale camera with a conditional update
(``runner`` and ``lease_expires_at`` as it read them; one row updated = claimed), renews every lease it holds on each
heartbeat, and stops a camera as soon as its row says it is disabled, deleted, changed or held by another runner.
A dead runner stops renewing; ``LEASE_S`` later another runner takes its cameras over.

Per camera (``CameraWorker``): ``enhancement.live.LatestFrameReader`` keeps the newest frame; at the camera's
analysis rate the worker takes it (older ones are dropped, never queued), feeds the streaming frame loop
(``enhancement.analysis.stream``: detection, tracking, best crops in the camera's thread; enhancement, embedding and
matching in the loop's own matching thread, so that an alert does not cost the camera its next frames), stores each
matched track as a Sighting at once and raises its Alert then (one per track and suspect; later frames improve the
sighting), keeps an evidence clip around the first match (encoded by the runner's ``ClipEncoder`` thread), writes
the latest frame as the wall's snapshot about once a second and its health (state, reason, fps, lag) with it.
Everything runs in this process: an alert's enhancement and embedding take tens of milliseconds per face here,
where a queue round-trip would add more than that to the alert's latency (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import math
import os
import queue
import socket
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from cameras.models import Camera
from cameras.sources import mask_text, mask_url, source_kind
from enhancement.images import shrink
from facecase.events import OPERATORS_GROUP, case_group, publish
from footage.models import Alert, Sighting
from footage.signals import sighting_changed, sighting_stored

log = logging.getLogger("cameras")

LEASE_S = 5.0  # a runner silent this long loses its cameras to another
HEARTBEAT_S = 0.5  # lease renewal and the check for edited/removed cameras
CLIP_BEFORE_S = 3.0
CLIP_AFTER_S = 3.0
# Frames kept for clips while matching lags behind the camera (the first match waits for TensorFlow to load, ~10 s):
# at most this many seconds of them (~58 MB at 5 fps, 480 px wide).
RING_MAX_S = 30.0
CLIP_WIDTH = 480
SNAPSHOT_EVERY_S = 1.0
SNAPSHOT_WIDTH = 960
# How often the runner hands the C heap's free pages back to the system (glibc's malloc_trim). Frames, crops and clip
# buffers are allocated and freed by many threads, each with its own malloc arena; without this the process keeps
# freed pages and its RSS creeps up for tens of minutes (measured by benchmarks.live's memory run).
TRIM_EVERY_S = 30.0
CONFIG_FIELDS = ("source_url", "enabled", "analysis_fps", "detector", "min_face_px", "case_id", "name")


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def wall(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def config_of(camera: Camera) -> tuple[Any, ...]:
    return tuple(getattr(camera, f) for f in CONFIG_FIELDS)


def snapshot_name(camera_id: int, boxes: bool = False) -> str:
    return f"cameras/camera-{camera_id}/latest{'-boxes' if boxes else ''}.jpg"


def _storage() -> Any:
    return Sighting._meta.get_field("raw_crop").storage


def _write_atomic(name: str, data: bytes) -> None:
    path = Path(_storage().path(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + f".{threading.get_ident()}.part")
    part.write_bytes(data)
    os.replace(part, path)


def _downscale(image: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    if w <= width:
        return image
    return shrink(image, width, max(1, round(h * width / w)))


CLIP_BIT_RATE = 600_000
# libvpx's real-time mode: about a quarter of the CPU of OpenCV's VP8 writer (which cannot be told to use it,
# opencv/opencv#24570) for a file of the same size; measured by benchmarks.live (docs/benchmarks/live.md).
CLIP_CODEC_OPTIONS = {"deadline": "realtime", "cpu-used": "8"}


def encode_clip(frames: list[tuple[float, np.ndarray]], fps: float, encoder: str | None = None) -> bytes:
    """WebM (VP8) of the BGR frames, all scaled to the first one's size (even sides, as 4:2:0 needs): small and
    playable in a browser. ``encoder``: "pyav" (the default, ``FACECASE_CAMERAS_CLIP_ENCODER``) or "opencv"."""
    name = encoder or settings.FACECASE_CAMERAS_CLIP_ENCODER
    if name not in CLIP_ENCODERS:
        raise ValueError(f"unknown clip encoder {name!r}; choose one of {tuple(CLIP_ENCODERS)}")
    h, w = frames[0][1].shape[:2]
    w, h = max(2, w - w % 2), max(2, h - h % 2)
    frames = [(t, image if image.shape[:2] == (h, w) else cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA))
              for t, image in frames]
    return CLIP_ENCODERS[name](frames, fps)


def _encode_clip_pyav(frames: list[tuple[float, np.ndarray]], fps: float, threads: int = 1) -> bytes:
    """PyAV's libvpx in real-time mode. Each frame keeps its capture time (milliseconds from the first frame), so a
    gap where frames were dropped stays a gap instead of the clip running fast; ``fps`` is only the nominal rate."""
    import av  # PyAV (bundles libvpx): imported here, only the camera runner encodes clips

    h, w = frames[0][1].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=Fraction(max(1.0, fps)).limit_denominator(1000),
                                      options=CLIP_CODEC_OPTIONS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = CLIP_BIT_RATE
        # One thread: with libvpx's default (0: one per core) a clip cost several times the CPU while the cores were
        # busy, as a runner's always are (benchmarks.live measures both; its threads wait for each other).
        stream.codec_context.thread_count = threads
        stream.codec_context.time_base = Fraction(1, 1000)
        t0, last = frames[0][0], -1
        for captured, image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            last = frame.pts = max(last + 1, round((captured - t0) * 1000))
            frame.time_base = Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def _encode_clip_opencv(frames: list[tuple[float, np.ndarray]], fps: float) -> bytes:
    """OpenCV's VP8 writer (libvpx's default "good" mode; frames at a constant ``fps``, so gaps are not kept)."""
    h, w = frames[0][1].shape[:2]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.webm"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), max(1.0, fps), (w, h))
        try:
            for _, image in frames:
                writer.write(image)
        finally:
            writer.release()
        return path.read_bytes()


CLIP_ENCODERS = {"pyav": _encode_clip_pyav, "opencv": _encode_clip_opencv}


def store_clip(camera_id: int, fps: float, alert_id: int, frames: list[tuple[float, np.ndarray]]) -> None:
    """Encode an alert's evidence clip, store it privately and record its sha256 and wall-clock span on the alert."""
    if not frames:
        return
    data = encode_clip(frames, fps)
    name = _storage().save(f"cameras/camera-{camera_id}/alerts/alert-{alert_id}.webm", ContentFile(data))
    Alert.objects.filter(pk=alert_id).update(
        clip=name, clip_sha256=hashlib.sha256(data).hexdigest(), clip_started_at=wall(frames[0][0]),
        clip_ended_at=wall(frames[-1][0]))


class ClipEncoder(threading.Thread):
    """Encodes the runner's evidence clips one after another, off the camera threads and at a lower CPU priority.

    VP8 encoding is the most expensive thing an alert causes (about half a core while alerts come every few seconds,
    measured with py-spy in ``benchmarks.live``); done in the camera's own thread it stopped that camera's analysis
    for the length of the encoding. Here a clip is finished a few seconds later instead; the alert itself was pushed
    when it matched. ``close`` finishes every queued clip before the runner exits.

    At most ``MAX_WAITING`` clips wait (~12 MB of frames each): beyond that a camera thread waits for the encoder
    rather than memory growing without bound or a clip being dropped (evidence is never thrown away)."""

    MAX_WAITING = 8

    def __init__(self) -> None:
        super().__init__(name="clip encoder", daemon=True)
        self.jobs: queue.Queue[tuple[int, float, int, list[tuple[float, np.ndarray]]] | None] = queue.Queue(
            maxsize=self.MAX_WAITING)

    def submit(self, camera_id: int, fps: float, alert_id: int, frames: list[tuple[float, np.ndarray]]) -> None:
        job = (camera_id, fps, alert_id, frames)
        try:
            self.jobs.put_nowait(job)
        except queue.Full:
            log.warning("%d evidence clips wait for the encoder: camera %s waits for it", self.MAX_WAITING, camera_id)
            self.jobs.put(job)

    def run(self) -> None:
        try:  # Linux: a thread has its own nice value; analysis threads come first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        try:
            while (job := self.jobs.get()) is not None:
                try:
                    store_clip(*job)
                except Exception:
                    log.exception("could not save the evidence clip of alert %s", job[2])
        finally:
            connection.close()

    def close(self, timeout: float = 60.0) -> None:
        self.jobs.put(None)
        self.join(timeout=timeout)


class CameraWorker(threading.Thread):
    """Reads and analyses one camera until stopped. All its database writes are conditional on the lease.

    Clips go to ``encoder`` (the runner's ``ClipEncoder``); without one (a worker driven in a test's transaction)
    they are encoded in the calling thread. Run as a thread (``start``), the worker matches in its stream loop's
    matching thread, which stores sightings and alerts; driven directly (``analyse`` from a test), it matches in the
    calling thread. ``frames_lock`` guards the frame ring and the clips being collected, which both touch."""

    def __init__(self, camera: Camera, runner: str, encoder: ClipEncoder | None = None) -> None:
        super().__init__(name=f"camera {camera.pk}", daemon=True)
        self.camera, self.runner, self.encoder = camera, runner, encoder
        self.config = config_of(camera)
        self.display = f"{camera.name} ({mask_url(camera.source_url)})"
        self.stopping = threading.Event()
        self.tracks: dict[int, dict[str, Any]] = {}  # stream track id -> {"sighting": pk, "score": float}
        # Frames at the clip width, from CLIP_BEFORE_S before the oldest frame matching has still to decide on
        self.ring: deque[tuple[float, np.ndarray]] = deque(maxlen=max(2, int(RING_MAX_S * camera.analysis_fps) + 1))
        self.pending_clips: list[dict[str, Any]] = []
        self.frames_lock = threading.Lock()
        self.background_matching = False  # set by run(): a test driving ``analyse`` itself matches in its own thread
        self.loop: Any = None
        self.analysed: deque[float] = deque(maxlen=64)
        self.lag = 0.0
        self.started = time.time()
        self.version_number: tuple[int, str] | None = None
        self.error = ""
        self.pushed_health: tuple[str, str] | None = None  # the last health pushed over the WebSocket

    def stop(self) -> None:
        self.stopping.set()

    # --- thread body ---------------------------------------------------------------------------------------

    def run(self) -> None:
        from enhancement.live import LatestFrameReader

        reader = LatestFrameReader(self.camera.source_url, source_kind(self.camera.source_url), display=self.display)
        reader.start()
        self.background_matching = not settings.FACECASE_CAMERAS_MATCH_INLINE
        try:
            self._loop(reader)
        except Exception as exc:  # one camera's failure never takes the runner or the other cameras down
            self.error = mask_text(f"{type(exc).__name__}: {exc}", self.camera.source_url)
            log.error("camera %s: analysis failed: %s", self.display, self.error)
            self._health("failed", f"analysis error: {self.error}", reader)
        finally:
            reader.stop(timeout=0.5)
            if self.loop is not None:
                self.loop.close(timeout=30)  # the matching thread's last alerts and sightings, then its end
            self._flush_clips()
            connection.close()

    def _loop(self, reader: Any) -> None:
        period = 1.0 / max(0.1, self.camera.analysis_fps)
        loop, last_seq = None, -1
        next_health = next_snapshot = next_registry = 0.0
        due = time.monotonic()
        while not self.stopping.is_set():
            t0 = time.monotonic()
            if t0 >= next_registry:
                loop = self._refresh_registry(loop)
                next_registry = t0 + 5.0
            frame = reader.latest(last_seq)
            if frame is not None:
                last_seq = frame.seq
                if loop is None:
                    loop = self.loop = self._new_loop(frame.image)
                self.analyse(loop, frame.image, frame.captured_at)
                # Lag: this frame's age now, or that of the oldest frame whose matching is still waiting, if older:
                # alerts are as late as the matcher, and the wall must not call a camera on time while they are not.
                behind = loop.behind_since()
                self.lag = time.time() - min(frame.captured_at, behind if behind is not None else math.inf)
                self.analysed.append(time.time())
                if t0 >= next_snapshot:
                    self._snapshot(frame.image, loop)
                    next_snapshot = t0 + SNAPSHOT_EVERY_S
            if t0 >= next_health:
                self._health(*reader.health(), reader)
                next_health = t0 + 1.0
            # A fixed schedule: a slow frame is made up by a shorter wait, a backlog is never built (late: start over).
            due += period
            now = time.monotonic()
            if due < now - period:
                due = now
            self.stopping.wait(max(0.0, due - now))
        if loop is not None:
            loop.close_all()
            loop.close(timeout=30)

    # --- analysis ------------------------------------------------------------------------------------------

    def analyse(self, loop: Any, image: np.ndarray, captured_at: float) -> None:
        """One frame: kept for the clips, then analysed (alerts and sightings are stored from the loop's callbacks,
        now or, with background matching, from its matching thread a moment later)."""
        small = _downscale(image, CLIP_WIDTH)
        with self.frames_lock:
            self.ring.append((captured_at, small))
        loop.feed(image, captured_at)
        oldest = loop.oldest_pending()
        horizon = (captured_at if oldest is None else min(oldest, captured_at)) - CLIP_BEFORE_S
        with self.frames_lock:
            while len(self.ring) > 1 and self.ring[0][0] < horizon:
                self.ring.popleft()
        self._advance_clips(captured_at, small)

    def _analysis_config(self) -> Any:
        """The uploads' configuration (``FACECASE_ANALYSIS``, thresholds for the registry's size) with the camera's
        own rate, detector and minimum face size."""
        from footage.analysis import configured_analysis

        enrolled = len(set(self.gallery.labels)) if self.gallery is not None else None
        config = configured_analysis(enrolled)
        config.max_fps = self.camera.analysis_fps
        config.detector = self.camera.detector
        config.min_face_px = self.camera.min_face_px
        return config

    def _refresh_registry(self, loop: Any) -> Any:
        """Match against the registry's current version; a rebuild is picked up within seconds."""
        from suspects.gallery import current_gallery

        close_old_connections()
        gallery, version = current_gallery()
        number = (version.number, version.gallery_sha256) if version is not None else None
        if number == self.version_number and loop is not None:
            return loop
        self.gallery, self.version = gallery, version
        self.version_number = number
        if loop is not None:
            config = self._analysis_config()  # the registry's size sets the open-set thresholds
            loop.matcher.gallery = gallery
            loop.matcher.threshold = float(config.threshold)
            if loop.matcher.use_student:
                loop.matcher.student_threshold = float(config.student_threshold)
        return loop

    def _new_loop(self, image: np.ndarray) -> Any:
        from enhancement.analysis import stream_loop

        h, w = image.shape[:2]
        return stream_loop(width=w, height=h, fps=self.camera.analysis_fps, gallery=self.gallery,
                           config=self._analysis_config(), on_match=self.on_match, on_track=self.on_track,
                           log_cb=self._say, background=self.background_matching, thread_exit=connection.close)

    def _say(self, level: str, message: str) -> None:
        log.log(logging.WARNING if level == "warning" else logging.DEBUG, "camera %s: %s", self.display,
                mask_text(message, self.camera.source_url))

    def on_match(self, result: Any) -> None:
        self._store(result, final=False)

    def on_track(self, result: Any) -> None:
        """A closed track: stored like a file's (unknown faces too), or its matched sighting brought up to date."""
        self._store(result, final=True)
        self.tracks.pop(result.track_id, None)

    def _store(self, result: Any, final: bool) -> None:
        from footage.analysis import (
            alert_for_track,
            alert_payload,
            build_sighting,
            label_suspects,
            sighting_apply_result,
        )

        camera = self.camera
        suspects = label_suspects(result.candidate_labels)
        entry = self.tracks.get(result.track_id)
        score = result.primary.score or 0.0
        first_ts, last_ts = result.timestamps[0], result.timestamps[-1]
        stored = None
        with transaction.atomic():
            if not Camera.objects.filter(pk=camera.pk, runner=self.runner).exists():
                return  # no longer ours (removed, or taken over): store nothing more
            if entry is None:
                Camera.objects.filter(pk=camera.pk).update(next_track_id=F("next_track_id") + 1)
                number = Camera.objects.values_list("next_track_id", flat=True).get(pk=camera.pk) - 1
                sighting, _ = build_sighting(result, suspects, self.version, camera=camera, track_id=number,
                                             first_ts=round(first_ts - self.started, 3),
                                             last_ts=round(last_ts - self.started, 3), captured_at=wall(first_ts),
                                             last_seen_at=wall(last_ts))
                self._keep_frame(sighting, last_ts)
                entry = self.tracks[result.track_id] = {"sighting": sighting.pk, "score": score}
                stored = sighting.pk
            else:
                sighting = Sighting.objects.get(pk=entry["sighting"])
                improved = score > entry["score"]
                if improved:  # later frames gave better crops: the sighting shows the best
                    sighting_apply_result(sighting, result, suspects)
                    entry["score"] = score
                sighting.last_frame = result.last_frame
                sighting.last_ts = round(last_ts - self.started, 3)
                sighting.last_seen_at = wall(last_ts)
                sighting.save()
                if improved:  # face search replaces its vector and decides its unknown-person profile again
                    sighting_changed.send_robust(Sighting, sighting_id=sighting.pk)
            alert = alert_for_track(sighting, result, suspects, self.version, self._say_info, camera=camera,
                                    camera_name=camera.name, captured_at=wall(last_ts))
            if alert is not None:
                payload = alert_payload(alert, sighting, footage_id=None, case_id=camera.case_id,
                                        camera_id=camera.pk, camera_name=camera.name,
                                        captured_at=alert.captured_at.isoformat(), captured_ts=last_ts)
                for group in self._groups():
                    transaction.on_commit(lambda g=group, p=payload: publish(g, "alert.created", p))
            if stored is not None:  # after the alert's push: face-search index and unknown-person profiles take it in
                transaction.on_commit(lambda pk=stored: sighting_stored.send_robust(Sighting, sighting_id=pk))
        if alert is not None:
            log.warning("camera %s: ALERT %s, score %.2f, captured %s", self.display, alert.suspect.name,
                        alert.score, alert.captured_at.isoformat())
            with self.frames_lock:  # frames from CLIP_BEFORE_S before the match to what the camera has analysed since
                before = [f for f in self.ring if f[0] >= last_ts - CLIP_BEFORE_S]
                self.pending_clips.append({"alert": alert.pk, "frames": before, "until": last_ts + CLIP_AFTER_S})

    def _say_info(self, message: str) -> None:
        self._say("info", message)

    def _keep_frame(self, sighting: Sighting, captured_at: float) -> None:
        """A live sighting keeps the frame of its latest detection now (there is no original to decode it from
        later): the ring's frame captured closest to ``captured_at``."""
        with self.frames_lock:
            if not self.ring:
                return
            image = min(self.ring, key=lambda f: abs(f[0] - captured_at))[1]
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
        if ok:
            name = _storage().save(f"{sighting.media_folder}/frame.jpg", ContentFile(data.tobytes()))
            Sighting.objects.filter(pk=sighting.pk).update(frame=name)

    # --- evidence clips ------------------------------------------------------------------------------------

    def _advance_clips(self, captured_at: float, small: np.ndarray) -> None:
        done = []
        with self.frames_lock:
            still = []
            for clip in self.pending_clips:
                if not clip["frames"] or clip["frames"][-1][0] < captured_at:
                    clip["frames"].append((captured_at, small))
                (done if captured_at >= clip["until"] else still).append(clip)
            self.pending_clips = still
        for clip in done:
            self._save_clip(clip)

    def _flush_clips(self) -> None:
        with self.frames_lock:
            clips, self.pending_clips = self.pending_clips, []
        for clip in clips:
            try:
                self._save_clip(clip)
            except Exception:
                log.exception("camera %s: could not save an evidence clip", self.display)

    def _save_clip(self, clip: dict[str, Any]) -> None:
        job = (self.camera.pk, self.camera.analysis_fps, clip["alert"], clip["frames"])
        if self.encoder is not None:
            self.encoder.submit(*job)
        else:
            store_clip(*job)

    # --- wall ----------------------------------------------------------------------------------------------

    def _snapshot(self, image: np.ndarray, loop: Any) -> None:
        h, w = image.shape[:2]
        small = _downscale(image, SNAPSHOT_WIDTH)
        scale = small.shape[1] / w
        ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            _write_atomic(snapshot_name(self.camera.pk), data.tobytes())
        boxes = []
        drawn = small.copy()
        for track in loop.open_tracks if loop is not None else []:
            if track.last_frame != loop.next_index - 1:
                continue
            x, y, bw, bh = track.last_box
            boxes.append({"box": [int(x), int(y), int(bw), int(bh)]})
            p0 = (int(x * scale), int(y * scale))
            p1 = (int((x + bw) * scale), int((y + bh) * scale))
            cv2.rectangle(drawn, p0, p1, (0, 200, 255), 2)
        ok, data = cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            _write_atomic(snapshot_name(self.camera.pk, boxes=True), data.tobytes())
        Camera.objects.filter(pk=self.camera.pk, runner=self.runner).update(last_boxes=boxes, frame_width=w,
                                                                             frame_height=h)

    def _health(self, state: str, reason: str, reader: Any) -> None:
        now = time.time()
        recent = [t for t in self.analysed if now - t <= 3.0]
        fps_analysed = (len(recent) - 1) / max(1e-6, recent[-1] - recent[0]) if len(recent) >= 2 else 0.0
        if state == "live" and now - (recent[-1] if recent else 0) > 3.0:
            state, reason = "stalled", "frames arrive but none was analysed for 3 s"
        masked = mask_text(reason, self.camera.source_url)[:500]
        updated = Camera.objects.filter(pk=self.camera.pk, runner=self.runner).update(
            health=state, health_reason=masked,
            fps_received=round(reader.fps(), 2), fps_analysed=round(fps_analysed, 2),
            lag_s=round(self.lag, 3) if recent else None,
            last_frame_at=wall(reader.last_frame_at) if reader.last_frame_at else None,
            health_updated_at=timezone.now())
        if updated and (state, masked) != self.pushed_health:
            # A change of health is pushed to the live wall at once; lag and fps stay on the 1 s status poll.
            self.pushed_health = (state, masked)
            payload = {"camera_id": self.camera.pk, "camera_name": self.camera.name, "health": state,
                       "reason": masked, "at": timezone.now().isoformat()}
            for group in self._groups():
                publish(group, "camera.health", payload)

    def _groups(self) -> list[str]:
        """Who hears about this camera: operators, and its case's members when it is attached to one."""
        return [OPERATORS_GROUP] + ([case_group(self.camera.case_id)] if self.camera.case_id else [])


def warm_up() -> None:
    """Load the embedder (TensorFlow: ~10 s on a busy 2-core machine) before the first face needs it, so a camera's
    first alert is not late by that much."""
    try:
        from enhancement.embed import embed_face
        from enhancement.synthetic import astronaut_bgr

        embed_face(astronaut_bgr(), box=(170, 30, 110, 130), backend="tf")
    except Exception:  # only an optimisation: the first real face loads it anyway
        log.exception("could not warm up the embedder")


def _libc_trim() -> Any:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


class HeapTrim:
    """Calls ``malloc_trim(0)`` every ``every_s`` seconds (a few milliseconds on the runner's heap)."""

    def __init__(self, every_s: float = TRIM_EVERY_S) -> None:
        self.every_s = every_s
        self.due = time.monotonic() + every_s
        self.trim = _libc_trim()

    def maybe_trim(self) -> bool:
        if self.trim is None or time.monotonic() < self.due:
            return False
        self.due = time.monotonic() + self.every_s
        self.trim(0)
        return True


class MemoryLog:
    """Every ``every_s`` seconds, one log line with the process's RSS and Python's live objects: how many, and the
    types that grew most since the previous line. Off unless ``FACECASE_CAMERAS_MEMORY_LOG_S`` is set (the live
    benchmark sets it): it tells growth of Python objects (a cache, a list that is never trimmed) from native growth
    (TensorFlow, the allocator), which RSS alone cannot. Counting costs a fraction of a second each time."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.due = time.monotonic() + every_s
        self.counts: Counter[str] | None = None

    def maybe_log(self) -> None:
        if self.every_s <= 0 or time.monotonic() < self.due:
            return
        import gc

        import psutil

        self.due = time.monotonic() + self.every_s
        counts = Counter(type(obj).__qualname__ for obj in gc.get_objects())
        grown = "" if self.counts is None else "; grew most: " + (
            ", ".join(f"{k} {d:+d}" for k, d in (counts - self.counts).most_common(6)) or "none grew")
        self.counts = counts
        log.info("memory: rss %.1f MiB, %d Python objects%s", psutil.Process().memory_info().rss / 2**20,
                 sum(counts.values()), grown)


class Runner:
    """Claims cameras through leases and keeps one ``CameraWorker`` per held camera in step with its row."""

    def __init__(self, name: str | None = None, *, max_cameras: int | None = None, lease_s: float = LEASE_S) -> None:
        self.name = name or runner_name()
        self.max_cameras = max_cameras
        self.lease_s = lease_s
        self.workers: dict[int, CameraWorker] = {}
        self.encoder = ClipEncoder()
        self.memory = MemoryLog(settings.FACECASE_CAMERAS_MEMORY_LOG_S)
        self.heap = HeapTrim()

    def run(self, stop: threading.Event) -> None:
        log.info("camera runner %s started", self.name)
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
        self.encoder.start()
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # a database hiccup: try again on the next heartbeat
                    log.exception("camera runner %s: heartbeat failed", self.name)
                    close_old_connections()
                self.heap.maybe_trim()
                self.memory.maybe_log()
                stop.wait(HEARTBEAT_S)
        finally:
            self.release_all()
            self.encoder.close()

    def tick(self) -> None:
        now = timezone.now()
        until = now + dt.timedelta(seconds=self.lease_s)
        held = list(self.workers)
        if held:
            Camera.objects.filter(pk__in=held, runner=self.name).update(lease_expires_at=until)
        rows = {c.pk: c for c in Camera.objects.filter(pk__in=held)}
        for pk, worker in list(self.workers.items()):
            row = rows.get(pk)
            if row is None or not row.enabled or row.runner != self.name:
                why = "removed" if row is None else "disabled" if not row.enabled else f"taken over by {row.runner}"
                self._stop(pk, why, release=row is not None and row.runner == self.name)
            elif config_of(row) != worker.config:
                self._stop(pk, "settings changed", release=False)
                self._start(row)
            elif not worker.is_alive():
                self._stop(pk, f"worker ended ({worker.error or 'no error'})", release=False)
                self._start(row)
        if self.max_cameras is not None and len(self.workers) >= self.max_cameras:
            return
        # One new camera per heartbeat, so runners started together share the cameras between them.
        free = (Camera.objects.filter(enabled=True).exclude(pk__in=list(self.workers))
                .filter(Q(runner="") | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)).order_by("pk"))
        for camera in free[:5]:
            previous = f" from {camera.runner} (lease expired)" if camera.runner else ""
            claimed = Camera.objects.filter(pk=camera.pk, runner=camera.runner,
                                            lease_expires_at=camera.lease_expires_at).update(
                runner=self.name, lease_expires_at=until, health=Camera.Health.CONNECTING, health_reason="")
            if claimed == 1:
                camera.refresh_from_db()
                if camera.runner != self.name:
                    continue
                log.info("camera runner %s: claimed %s%s", self.name, camera.name, previous)
                self._start(camera)
                break

    def _start(self, camera: Camera) -> None:
        worker = CameraWorker(camera, self.name, self.encoder)
        self.workers[camera.pk] = worker
        log.info("camera %s: starting (%s, %.1f fps analysed)", worker.display, camera.source_kind,
                 camera.analysis_fps)
        worker.start()

    def _stop(self, pk: int, why: str, release: bool) -> None:
        worker = self.workers.pop(pk)
        worker.stop()
        log.info("camera %s: stopped (%s)", worker.display, why)
        if release:
            Camera.objects.filter(pk=pk, runner=self.name).update(runner="", lease_expires_at=None,
                                                                  health=Camera.Health.IDLE, health_reason=why)

    def release_all(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        for worker in self.workers.values():
            worker.join(timeout=3)
        if self.workers:
            Camera.objects.filter(pk__in=list(self.workers), runner=self.name).update(
                runner="", lease_expires_at=None, health=Camera.Health.IDLE, health_reason="runner stopped")
        self.workers = {}
        log.info("camera runner %s stopped", self.name)

"""Run FaceCase in one command: embedded Redis (when ``REDIS_URL`` is unset), the django-q2 worker cluster,
daphne and the live camera runner (``run_cameras``), supervised together.

A child that exits (crash, OOM kill, SIGKILL) is logged and started again with exponential backoff; the others keep
running. After Redis comes back its queue is empty (no persistence), so queued jobs are sent again; after the worker
comes back, the job it held is queued again and resumes from its checkpoint. Only Ctrl-C / SIGTERM stops everything
(web first, Redis last)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand

from facecase.embedded_redis import EmbeddedRedisError, start_embedded_redis

STOP_GRACE_S = 10.0
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
# A child that ran this long before exiting counts as healthy: its next restart starts from the first backoff.
HEALTHY_AFTER_S = 60.0
POLL_S = 0.5
# Daphne drops a WebSocket the application has not accepted within 5 s by default; when every browser reconnects at
# once (web restarted) the accepts queue up behind each other, so give them longer.
DAPHNE_OPTIONS = ["--websocket_connect_timeout", "30"]


@dataclass
class Child:
    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff_s: float = BACKOFF_FIRST_S
    restart_at: float | None = None
    after_restart: list[Callable[[], None]] = field(default_factory=list)


class Command(BaseCommand):
    help = "Start embedded Redis + qcluster + daphne + run_cameras together and keep them running; Ctrl-C stops all."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="do not run the demo command on first start")

    def handle(self, *args: Any, host: str, port: int, no_demo: bool, **options: Any) -> None:
        self._stopping = False
        self.children: list[Child] = []
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        env = os.environ.copy()
        var_dir = Path(settings.VAR_DIR)
        embedded = not os.environ.get("REDIS_URL")
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        try:
            if embedded:
                redis = Child("redis", lambda: self._start_redis(var_dir))
                self._launch(redis)
                env["REDIS_URL"] = (var_dir / "redis.url").read_text().strip()
                self.stdout.write(f"embedded Redis on {env['REDIS_URL']}")
                # A restarted embedded Redis is empty: send the queued jobs again.
                redis.after_restart.append(lambda: self._recover_jobs(manage, env, include_processing=False))
            worker = Child("worker", lambda: self._spawn([*manage, "qcluster"], env))
            # Only this worker runs jobs with the embedded Redis, so the one it held when it died can be taken back
            # at once; with a shared Redis other hosts' workers may be running, and the lease sweep takes it back.
            worker.after_restart.append(lambda: self._recover_jobs(manage, env, include_processing=embedded))
            daphne = [sys.executable, "-m", "daphne", *DAPHNE_OPTIONS, "-b", host, "-p", str(port),
                      "facecase.asgi:application"]
            web = Child("web", lambda: self._spawn(daphne, env))
            # Live cameras: a crashed runner restarts like the others; its leases lapse and it claims them back.
            cameras = Child("cameras", lambda: self._spawn([*manage, "run_cameras"], env))
            self._launch(worker)
            self._launch(web)
            self._launch(cameras)
            self.stdout.write(self.style.SUCCESS(f"FaceCase is running on http://{host}:{port}/  (Ctrl-C to stop)"))
            self._recover_jobs(manage, env, include_processing=embedded)
            self._first_start_demo(manage, env, var_dir, skip=no_demo)
            self._supervise()
        finally:
            self._stop_all()

    def _start_redis(self, var_dir: Path) -> subprocess.Popen[bytes]:
        process, redis_url = start_embedded_redis(var_dir, preexec_fn=_die_with_parent)
        # Published so other manage.py commands (shell, import_suspects, demo) find the same Redis.
        (var_dir / "redis.url").write_text(redis_url + "\n")
        return process

    def _spawn(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        # Each child leads its own process group: the terminal's Ctrl-C reaches only us, and we stop the
        # children in order and kill whole groups (qcluster's worker processes included), leaving no orphans.
        return subprocess.Popen(
            command, env=env, cwd=settings.BASE_DIR, start_new_session=True, preexec_fn=_die_with_parent
        )

    def _launch(self, child: Child) -> None:
        if child not in self.children:
            self.children.append(child)
        child.process = child.start()
        child.started_at = time.monotonic()
        child.restart_at = None

    def _recover_jobs(self, manage: list[str], env: dict[str, str], include_processing: bool) -> None:
        # Queued rows are sent again (a duplicate task is harmless: the task claims the row first). Half-done rows
        # are taken back only when no other worker can be running: at start-up, or after our worker died.
        command = [*manage, "recover_jobs", *(["--include-processing"] if include_processing else [])]
        result = subprocess.run(command, env=env, cwd=settings.BASE_DIR)
        if result.returncode != 0:
            self.stderr.write(f"recover_jobs failed with code {result.returncode}; the stale-job sweep will retry")

    def _first_start_demo(self, manage: list[str], env: dict[str, str], var_dir: Path, skip: bool) -> None:
        marker = var_dir / "demo.done"
        if skip or marker.exists() or "demo" not in get_commands():
            return
        self.stdout.write("first start: running manage.py demo")
        result = subprocess.run([*manage, "demo"], env=env, cwd=settings.BASE_DIR)
        if result.returncode == 0:
            marker.write_text("demo loaded\n")
        else:
            self.stderr.write(f"manage.py demo failed with code {result.returncode}; it will run again next start")

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stopping = True

    def _supervise(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is None and child.process is not None and child.process.poll() is not None:
                    self._schedule_restart(child, now)
                elif child.restart_at is not None and now >= child.restart_at:
                    self._restart(child)
            time.sleep(POLL_S)

    def _schedule_restart(self, child: Child, now: float) -> None:
        assert child.process is not None
        code = child.process.returncode
        _kill_group(child.process)  # what the dead child started (qcluster's workers) goes with it
        if now - child.started_at >= HEALTHY_AFTER_S:
            child.backoff_s = BACKOFF_FIRST_S
        child.restart_at = now + child.backoff_s
        self.stderr.write(f"{child.name} exited with code {code} ({describe_exit(code)}); restarting it in "
                          f"{child.backoff_s:.0f} s")
        child.backoff_s = min(child.backoff_s * 2, BACKOFF_MAX_S)

    def _restart(self, child: Child) -> None:
        try:
            self._launch(child)
        except (EmbeddedRedisError, OSError) as exc:
            child.restart_at = time.monotonic() + child.backoff_s
            self.stderr.write(f"{child.name} could not start ({exc}); trying again in {child.backoff_s:.0f} s")
            child.backoff_s = min(child.backoff_s * 2, BACKOFF_MAX_S)
            return
        child.restarts += 1
        self.stderr.write(f"{child.name} restarted (restart {child.restarts}, pid {child.process.pid})")
        for action in child.after_restart:
            action()

    def _stop_all(self) -> None:
        # Web first (no new work), then the worker, then Redis. The leader gets SIGTERM to shut down cleanly.
        for child in reversed(self.children):
            process = child.process
            if process is None:
                continue
            if process.poll() is None:
                self.stdout.write(f"stopping {child.name}")
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    self.stderr.write(f"{child.name} did not stop within {STOP_GRACE_S:.0f} s; killing it")
                    _kill_group(process)
                    process.wait(timeout=5)
            # Anything the child started that outlived it is still in its process group: sweep it.
            _kill_group(process)
        self.children = []


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return "exited" if code else "exited cleanly"


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when ``runall`` dies, even by SIGKILL (which no
    handler sees), so a killed supervisor never leaves web, worker or Redis running on their own."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the signal handlers above still cover Ctrl-C and SIGTERM


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

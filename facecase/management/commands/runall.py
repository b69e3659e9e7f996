"""Run FaceCase in one command: embedded Redis (when ``REDIS_URL`` is unset), the django-q2 worker cluster,
daphne and the live camera runner (``run_cameras``), supervised together. Ctrl-C / SIGTERM stops them all (web
first, Redis last); if one dies, all stop."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand

from facecase.embedded_redis import start_embedded_redis

STOP_GRACE_S = 10.0
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


class Command(BaseCommand):
    help = "Start embedded Redis + qcluster + daphne + run_cameras together; Ctrl-C stops everything."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="do not run the demo command on first start")

    def handle(self, *args: Any, host: str, port: int, no_demo: bool, **options: Any) -> None:
        self._stopping = False
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        env = os.environ.copy()
        var_dir = Path(settings.VAR_DIR)
        try:
            if not os.environ.get("REDIS_URL"):
                redis_process, redis_url = start_embedded_redis(var_dir, preexec_fn=_die_with_parent)
                self.children.append(("redis", redis_process))
                # Published so other manage.py commands (shell, import_suspects, demo) find the same Redis.
                (var_dir / "redis.url").write_text(redis_url + "\n")
                env["REDIS_URL"] = redis_url
                self.stdout.write(f"embedded Redis on {redis_url}")
            manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
            self._spawn("worker", [*manage, "qcluster"], env)
            self._spawn("web", [sys.executable, "-m", "daphne", "-b", host, "-p", str(port),
                                "facecase.asgi:application"], env)
            self._spawn("cameras", [*manage, "run_cameras"], env)
            self.stdout.write(self.style.SUCCESS(f"FaceCase is running on http://{host}:{port}/  (Ctrl-C to stop)"))
            self._recover_jobs(manage, env, embedded=not os.environ.get("REDIS_URL"))
            self._first_start_demo(manage, env, var_dir, skip=no_demo)
            self._supervise()
        finally:
            self._stop_all()

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        # Each child leads its own process group: the terminal's Ctrl-C reaches only us, and we stop the
        # children in order and kill whole groups (qcluster's worker processes included), leaving no orphans.
        process = subprocess.Popen(
            command, env=env, cwd=settings.BASE_DIR, start_new_session=True, preexec_fn=_die_with_parent
        )
        self.children.append((name, process))

    def _recover_jobs(self, manage: list[str], env: dict[str, str], embedded: bool) -> None:
        # The embedded Redis keeps nothing across restarts: queue again what the last run left unfinished.
        # Only then can no other worker be running, so only then are half-done jobs taken back too.
        command = [*manage, "recover_jobs", *(["--include-processing"] if embedded else [])]
        subprocess.run(command, env=env, cwd=settings.BASE_DIR)

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
            for name, process in self.children:
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with code {process.returncode}; stopping everything")
                    self._stopping = True
                    break
            time.sleep(0.5)

    def _stop_all(self) -> None:
        # Web first (no new work), then the worker, then Redis. The leader gets SIGTERM to shut down cleanly.
        for name, process in reversed(self.children):
            if process.poll() is None:
                self.stdout.write(f"stopping {name}")
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    self.stderr.write(f"{name} did not stop within {STOP_GRACE_S:.0f} s; killing it")
                    _kill_group(process)
                    process.wait(timeout=5)
            # Anything the child started that outlived it is still in its process group: sweep it.
            _kill_group(process)
        self.children = []


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

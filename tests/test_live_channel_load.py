"""A small run of the live-channel load benchmark (benchmarks/live_channel.py; the 200 x 200 run is in
docs/reliability.md): 20 operator sockets opened at once on a real daphne, 5 alerts from another process, every
alert counted at every client exactly once, every socket closed, and no exception in daphne's log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from benchmarks.live_channel import count_exceptions

pytestmark = pytest.mark.slow


def test_it_delivers_every_alert_to_every_socket_with_no_exception_logged(tmp_path: Path):
    # A process of its own: its clients use autobahn on asyncio, and this test process may have chosen Twisted.
    out = tmp_path / "counts.json"
    run = subprocess.run([sys.executable, "-m", "benchmarks.live_channel", "--sockets", "20", "--alerts", "5",
                          "--runs", "pooled:0", "--json", str(out)], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    (result,) = json.loads(out.read_text())
    assert result["connected"] == 20
    assert result["complete_clients"] == 20 and result["delivered"] == 100
    assert result["duplicates"] == 0
    assert result["closed_cleanly"] == 20
    assert result["exceptions"] == {}, Path(result["log"]).read_text()[-5000:]


def test_it_counts_exceptions_in_a_daphne_log():
    log = """127.0.0.1:1 - - [30/Nov/2026:10:00:38] "WSDISCONNECT /ws/events/" - -
Exception inside application: Too many connections
Traceback (most recent call last):
  File "x.py", line 1, in <module>
redis.exceptions.MaxConnectionsError: Too many connections
redis.exceptions.TimeoutError: Timeout reading from /tmp/x/redis.sock
"""
    assert count_exceptions(log) == {"Traceback": 1, "MaxConnectionsError": 1, "TimeoutError": 1}

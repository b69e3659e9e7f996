"""A small run of the live-channel load benchmark (benchmarks/live_channel.py; the 200 x 200 run is in
docs/reliability.md): 20 operator sockets opened at once on a real daphne, 5 alerts from another process, every
alert counted at every client exactly once, every socket closed, and no exception in daphne's log."""

from __future__ import annotations

import pytest

from benchmarks.live_channel import count_exceptions, run_load

pytestmark = pytest.mark.slow


def test_it_delivers_every_alert_to_every_socket_with_no_exception_logged():
    result = run_load(sockets=20, alerts=5, layer="pooled", settle_s=7.0, timeout_s=180)
    assert result.connected == 20
    assert result.complete_clients == 20 and result.delivered == 100
    assert result.duplicates == 0
    assert result.closed_cleanly == 20
    assert result.exceptions == {}, result.log_path.read_text()[-5000:]


def test_it_counts_exceptions_in_a_daphne_log():
    log = """127.0.0.1:1 - - [30/Nov/2026:10:00:38] "WSDISCONNECT /ws/events/" - -
Exception inside application: Too many connections
Traceback (most recent call last):
  File "x.py", line 1, in <module>
redis.exceptions.MaxConnectionsError: Too many connections
redis.exceptions.TimeoutError: Timeout reading from /tmp/x/redis.sock
"""
    assert count_exceptions(log) == {"Traceback": 1, "MaxConnectionsError": 1, "TimeoutError": 1}

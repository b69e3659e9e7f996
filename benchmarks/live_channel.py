"""Load on the live channel: N operator WebSockets on one daphne, M alerts published by another process.

Builds a throw-away FaceCase (SQLite and an embedded Redis in a temporary folder), creates one operator per socket,
starts daphne, opens every socket at once (as after a deploy), publishes ``--alerts`` ``alert.created`` events from
a separate process (as the worker does), counts every alert at every client, closes every socket (ordinary page
closes), stops daphne and counts the exceptions in its log.

    .venv/bin/python -m benchmarks.live_channel              # 200 sockets x 200 alerts: stock and pooled layer
    .venv/bin/python -m benchmarks.live_channel --sockets 50 --alerts 20 --runs pooled:0

A ``stock`` run starts daphne with channels_redis' own layer (``benchmarks/stock_layer_settings.py``), as FaceCase
shipped before, for comparison; ``pooled`` is FaceCase's layer (facecase/channel_layer.py). With ``--write`` the table
replaces the "Load on the live channel" section of docs/reliability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from facecase.management.commands.runall import DAPHNE_OPTIONS  # daphne as runall starts it

REPO = Path(__file__).resolve().parent.parent
SECTION = "## Load on the live channel"
LAYER_SETTINGS = {"pooled": "facecase.settings", "stock": "benchmarks.stock_layer_settings"}
EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception|Exit)|Traceback)\b")

SETUP_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
from facecase.roles import assign_role
cookies = []
for n in range(COUNT):
    user = get_user_model().objects.create_user(username=f"op{n}", password=None)
    assign_role(user, "operator")
    client = Client()
    client.force_login(user)
    cookies.append(client.cookies["sessionid"].value)
print(json.dumps(cookies))
"""

PUBLISH_SCRIPT = """
import time
from facecase.events import OPERATORS_GROUP, publish
count, interval = COUNT, INTERVAL
for n in range(count):
    publish(OPERATORS_GROUP, "alert.created", {"id": n, "suspect_name": "load", "sent": time.time()})
    if interval:
        time.sleep(interval)
print("published", count)
"""


@dataclass
class LoadResult:
    layer: str
    sockets: int
    alerts: int
    interval: float = 0.0
    connected: int = 0
    connect_s: float = 0.0
    connect_failures: Counter = field(default_factory=Counter)
    received: dict[int, list[int]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    deliver_s: float = 0.0
    closed_cleanly: int = 0
    exceptions: Counter = field(default_factory=Counter)
    log_path: Path | None = None

    @property
    def delivered(self) -> int:
        return sum(len(set(ids)) for ids in self.received.values())

    @property
    def duplicates(self) -> int:
        return sum(len(ids) - len(set(ids)) for ids in self.received.values())

    @property
    def complete_clients(self) -> int:
        return sum(set(ids) == set(range(self.alerts)) for ids in self.received.values())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serves(url: str) -> bool:
    try:
        return urllib.request.urlopen(f"{url}/login/", timeout=2).status == 200
    except OSError:
        return False


def _manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    result = subprocess.run([sys.executable, str(REPO / "manage.py"), *args], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def count_exceptions(log_text: str) -> Counter:
    """Exception names in a log: each traceback's last line (``redis.exceptions.MaxConnectionsError: ...``) and any
    logged line that starts with an exception name."""
    found: Counter = Counter()
    for line in log_text.splitlines():
        match = EXCEPTION_LINE.match(line.strip())
        if match and match.group(1) != "Traceback":
            found[match.group(1)] += 1
        elif "Traceback (most recent call last)" in line:
            found["Traceback"] += 1
    return found


async def _clients(port: int, cookies: list[str], alerts: int, result: LoadResult, publish: list[str],
                   env: dict[str, str], interval: float, timeout_s: float) -> None:
    from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

    loop = asyncio.get_running_loop()
    done = loop.create_future()
    finished: set[int] = set()
    hellos: dict[int, asyncio.Future] = {}
    closes: dict[int, asyncio.Future] = {}

    class Listener(WebSocketClientProtocol):
        def onOpen(self) -> None:  # noqa: N802 - autobahn's callback names
            self.index = self.factory.index
            result.received[self.index] = []

        def onMessage(self, payload: bytes, is_binary: bool) -> None:  # noqa: N802
            message = json.loads(payload)
            if message["type"] == "hello":
                hellos[self.index].set_result(True)
                return
            if message["type"] == "alert.created":
                ids = result.received[self.index]
                ids.append(message["payload"]["id"])
                result.latencies.append(time.time() - message["payload"]["sent"])
                if len(ids) == alerts:  # counted properly (unique ids) once everything is in
                    finished.add(self.index)
                    if len(finished) == result.connected and not done.done():
                        done.set_result(True)

        def onClose(self, was_clean: bool, code: int | None, reason: str | None) -> None:  # noqa: N802
            future = closes[self.factory.index]
            if not future.done():
                future.set_result(was_clean)

    protocols: list = []

    async def connect(index: int, cookie: str) -> None:
        hellos[index], closes[index] = loop.create_future(), loop.create_future()
        factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/ws/events/",
                                         headers={"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{port}"})
        factory.protocol, factory.index = Listener, index
        # A browser waits far longer than autobahn's default 5 s for a crowded server to accept.
        factory.setProtocolOptions(openHandshakeTimeout=120, closeHandshakeTimeout=30)
        _, protocol = await loop.create_connection(factory, "127.0.0.1", port)
        protocols.append(protocol)
        await asyncio.wait_for(hellos[index], timeout=120)

    started = time.monotonic()
    outcomes = await asyncio.gather(*(connect(i, c) for i, c in enumerate(cookies)), return_exceptions=True)
    result.connect_s = time.monotonic() - started
    result.connected = sum(1 for outcome in outcomes if outcome is None)
    result.connect_failures = Counter(type(o).__name__ for o in outcomes if o is not None)
    started = time.monotonic()
    publisher = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "manage.py"), "shell", "-c",
        PUBLISH_SCRIPT.replace("COUNT", str(alerts)).replace("INTERVAL", repr(interval)),
        env=env, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await publisher.communicate()
    if publisher.returncode != 0:
        raise RuntimeError(f"publisher failed:\n{err.decode()[-3000:]}")
    try:
        await asyncio.wait_for(done, timeout=timeout_s)
    except TimeoutError:
        pass  # counted below: the table says how many alerts did not arrive
    result.deliver_s = time.monotonic() - started
    for protocol in protocols:
        protocol.sendClose(code=1000)
    finished, _ = await asyncio.wait(list(closes.values()), timeout=60)
    result.closed_cleanly = sum(1 for f in finished if f.result())


def run_load(sockets: int, alerts: int, layer: str = "pooled", interval: float = 0.0, settle_s: float = 12.0,
             timeout_s: float = 300.0, keep: bool = False) -> LoadResult:
    """One run. ``settle_s`` keeps daphne up after the sockets closed, longer than the layer's 5 s blocking pop,
    so errors that closes cause later are in the log too."""
    from facecase.embedded_redis import start_embedded_redis

    workdir = Path(f"/tmp/fc-load-{uuid.uuid4().hex[:8]}")  # short: it holds the Redis unix socket
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(FACECASE_VAR_DIR=str(workdir), DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
               PRIVATE_MEDIA_ROOT=str(workdir / "media"), FACECASE_CHANNEL_PREFIX=f"load{workdir.name[-8:]}",
               DJANGO_SETTINGS_MODULE=LAYER_SETTINGS[layer], PYTHONPATH=str(REPO))
    redis_process, redis_url = start_embedded_redis(workdir)
    env["REDIS_URL"] = redis_url
    result = LoadResult(layer=layer, sockets=sockets, alerts=alerts, interval=interval, log_path=workdir / "daphne.log")
    daphne = None
    try:
        _manage(env, "migrate", "-v0")
        made = _manage(env, "shell", "-c", SETUP_SCRIPT.replace("COUNT", str(sockets)))
        cookies = json.loads(made.strip().splitlines()[-1])
        port = _free_port()
        log = open(result.log_path, "wb")  # noqa: SIM115 - closed below
        daphne = subprocess.Popen([sys.executable, "-m", "daphne", *DAPHNE_OPTIONS, "-b", "127.0.0.1", "-p", str(port),
                                   "facecase.asgi:application"], env=env, cwd=REPO, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 180
        while not _serves(f"http://127.0.0.1:{port}"):
            if daphne.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daphne did not start:\n{result.log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        asyncio.run(_clients(port, cookies, alerts, result, [], env, interval, timeout_s))
        time.sleep(settle_s)
    finally:
        if daphne is not None:
            daphne.send_signal(signal.SIGTERM)
            try:
                daphne.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daphne.pid, signal.SIGKILL)
                daphne.wait()
        redis_process.terminate()
        redis_process.wait(timeout=10)
    result.exceptions = count_exceptions(result.log_path.read_text(errors="replace"))
    if keep:
        print(f"kept {workdir}")
    else:
        kept = Path("/tmp") / f"live-channel-{layer}-{sockets}x{alerts}-{interval:g}.log"
        shutil.copy(result.log_path, kept)
        result.log_path = kept
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def table(results: list[LoadResult]) -> str:
    lines = [
        "| layer | sockets | alerts sent | connected | alerts counted / expected | clients with every alert "
        "| duplicates | latency p50 / p95 / max (s) | last alert counted after (s) | sockets closed cleanly "
        "| exceptions in daphne's log |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lat = sorted(r.latencies)
        p95 = lat[int(0.95 * (len(lat) - 1))] if lat else float("nan")
        latency = f"{statistics.median(lat):.2f} / {p95:.2f} / {lat[-1]:.2f}" if lat else "-"
        exc = ", ".join(f"{n} {name}" for name, n in r.exceptions.most_common()) or "**0**"
        sent = f"{r.alerts} at once" if not r.interval else f"{r.alerts}, one every {r.interval:g} s"
        lines.append(f"| {r.layer} | {r.sockets} | {sent} | {r.connected} | {r.delivered} / {r.sockets * r.alerts} "
                     f"| {r.complete_clients} | {r.duplicates} | {latency} | {r.deliver_s:.1f} | {r.closed_cleanly} "
                     f"| {exc} |")
    return "\n".join(lines)


def write_section(markdown: str, path: Path) -> None:
    """Replace only this benchmark's section of docs/reliability.md (other sections belong to other pages' owners)."""
    text = path.read_text() if path.exists() else "# Reliability\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + markdown.rstrip("\n") + "\n"
    else:
        following = text.find("\n## ", start + len(SECTION))
        end = len(text) if following == -1 else following + 1
        text = text[:start] + markdown.rstrip("\n") + "\n" + ("\n" + text[end:] if following != -1 else "")
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--runs", default="stock:0,pooled:0,pooled:0.25",
                        help="LAYER:INTERVAL,... (layer stock or pooled; seconds between alerts, 0: all at once)")
    parser.add_argument("--write", action="store_true", help="replace the section in docs/reliability.md")
    args = parser.parse_args()
    results = []
    for run in args.runs.split(","):
        layer, interval = run.split(":")
        print(f"{args.sockets} sockets x {args.alerts} alerts, {layer} layer, interval {interval} ...", flush=True)
        results.append(run_load(args.sockets, args.alerts, layer, float(interval)))
        print(f"  daphne log: {results[-1].log_path}", flush=True)
        print(table(results[-1:]), flush=True)
    command = f"python -m benchmarks.live_channel --sockets {args.sockets} --alerts {args.alerts} --runs {args.runs}"
    body = table(results)
    print(body)
    if args.write:
        write_section(report(command, body), REPO / "docs" / "reliability.md")


def report(command: str, body: str) -> str:
    load = os.getloadavg()
    return f"""{SECTION}

`{command} --write` on {platform.node()} ({os.cpu_count()} CPUs, load average {load[0]:.1f} when it finished: other
jobs shared the machine), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. One daphne process (started as
`runall` starts it), SQLite, embedded Redis. Every socket is a different operator, all opened at once; the alerts are
published by a separate process (as the worker does), all at once or paced; the clients (one asyncio process with
autobahn, on the same machine) count the alert ids each receives. Then every socket is closed as a page close does,
and daphne stays up 12 s more (longer than the layer's 5 s blocking pop) before its log is searched for exceptions.
Every alert is re-checked against the receiving operator's rights before it is sent (facecase/consumers.py).
Latency is from publishing to counting, so it includes the clients' own time on the shared CPUs.

{body}

- `stock`: channels_redis' own layer as FaceCase shipped it: redis-py's pool refuses the 101st concurrent
  connection (`MaxConnectionsError`), and its 5 s socket timeout races the layer's 5 s `BZPOPMIN` (`TimeoutError:
  Timeout reading from ...redis.sock`), which kills the socket that was receiving for the others.
- `pooled`: facecase/channel_layer.py, a blocking pool of `FACECASE_WS_REDIS_CONNECTIONS` (default 200) per web
  process with a 30 s socket timeout, and room for 1,000 waiting messages per channel
  (`FACECASE_WS_CHANNEL_CAPACITY`; channels_redis' default of 100 drops alerts from a burst). Size the pool to at least
  the sockets one web process serves at once; Redis' `maxclients` (10,000 by default) must cover the sum over all web
  processes and workers.
"""

if __name__ == "__main__":
    main()

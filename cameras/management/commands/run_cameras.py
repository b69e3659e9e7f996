"""Read and analyse every enabled camera this runner can lease, until Ctrl-C / SIGTERM (``cameras/runner.py``).

Runs next to web and worker under ``manage.py runall``, or alone on a host of its own: several runners share the
cameras through leases in the database."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from django.core.management.base import BaseCommand

from cameras.runner import Runner


class Command(BaseCommand):
    help = "Read and analyse the enabled cameras (leases shared with other runners); Ctrl-C stops."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", default=None, help="this runner's name in the leases (default host:pid:random)")
        parser.add_argument("--max-cameras", type=int, default=None, help="hold at most this many cameras")

    def handle(self, *args: Any, name: str | None, max_cameras: int | None, **options: Any) -> None:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        for logger_name in ("cameras", "enhancement.live"):
            logger = logging.getLogger(logger_name)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        Runner(name, max_cameras=max_cameras).run(stop)

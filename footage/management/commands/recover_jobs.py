"""Re-enqueue footage jobs a restart forgot: queued rows always; with ``--include-processing`` also rows a
dead worker left half done (use only when no worker is running; ``runall`` does so with its embedded Redis)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from footage.services import footage_recover_jobs


class Command(BaseCommand):
    help = "Enqueue queued footage again (and, with --include-processing, footage whose worker died)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--include-processing", action="store_true")

    def handle(self, *args: Any, include_processing: bool, **options: Any) -> None:
        count = footage_recover_jobs(include_processing=include_processing)
        self.stdout.write(f"re-enqueued {count} footage job(s)")

"""Rebuild the sighting index from the database and write the snapshot every web host loads at start."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Rebuild the face-search index of sightings from the database (snapshot under VAR_DIR/index/sightings/)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--kind", choices=["auto", "exact", "ivf", "hnsw"], default="auto",
                            help="exact NumPy, FAISS IVF-Flat or HNSW; auto: exact up to "
                                 "enhancement.index.EXACT_MAX, IVF above")

    def handle(self, *args: Any, kind: str = "auto", **options: Any) -> None:
        from facesearch.index import rebuild, snapshot_dir

        index = rebuild(kind)
        self.stdout.write(f"indexed {len(index)} sighting(s) ({index.kind}, {index.memory_bytes() / 2**20:.1f} MiB) "
                          f"into {snapshot_dir()}")

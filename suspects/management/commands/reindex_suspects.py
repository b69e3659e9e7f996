"""Re-enrol every suspect photo (detect, embed, crop) and build a new registry version if anything changed.

Idempotent: photos already embedded with the current embedder are left alone (``--force`` re-embeds them all,
e.g. after the embedder changed), and an unchanged gallery creates no new version.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from suspects.gallery import registry_rebuild
from suspects.models import SuspectPhoto


class Command(BaseCommand):
    help = "Embed suspect photos that need it and rebuild the registry gallery (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--force", action="store_true", help="re-embed every photo and write a new version")

    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        version = registry_rebuild(reason="manage.py reindex_suspects" + (" --force" if force else ""), force=force)
        refused = SuspectPhoto.objects.exclude(index_error="")
        for photo in refused.select_related("suspect"):
            self.stdout.write(f"not enrolled: photo {photo.pk} of {photo.suspect.name}: {photo.index_error}")
        if version is None:
            self.stdout.write("registry unchanged: no new version")
        else:
            self.stdout.write(self.style.SUCCESS(
                f"registry v{version.number} ready: {version.photo_count} photos of {version.suspect_count} suspects"))

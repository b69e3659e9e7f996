"""Import a folder of suspects: ``DIR/<name>/*.jpg|jpeg|png`` plus an optional ``DIR/suspects.json`` list of
``{"name", "id", "status"}``. Idempotent: suspects are keyed by external id, photos by SHA-256, so running it
twice adds nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from facecase.files import sha256_of_path
from suspects.models import Suspect, SuspectPhoto
from suspects.services import suspect_create, suspect_photo_add, suspect_update

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}


def _key(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def read_manifest(directory: Path) -> dict[str, dict[str, str]]:
    """Manifest entries keyed by both their normalised id and name, so a folder may be named after either."""
    path = directory / "suspects.json"
    if not path.exists():
        return {}
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(entries, list):
        raise CommandError(f"{path}: expected a list of {{name, id, status}} objects")
    valid = {choice for choice, _ in Suspect.Status.choices}
    by_key: dict[str, dict[str, str]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("id"):
            raise CommandError(f"{path}: every entry needs 'name' and 'id', got {entry!r}")
        status = entry.get("status", Suspect.Status.PERSON_OF_INTEREST)
        if status not in valid:
            raise CommandError(f"{path}: status {status!r} for {entry['name']!r} is not one of {sorted(valid)}")
        clean = {"name": str(entry["name"]), "id": str(entry["id"]), "status": status}
        by_key[_key(clean["id"])] = clean
        by_key[_key(clean["name"])] = clean
    return by_key


class Command(BaseCommand):
    help = "Import suspects from DIR/<name>/*.jpg|png (+ optional DIR/suspects.json); safe to run again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--user", help="username recorded as the actor (default: system)")

    def handle(self, *args: Any, directory: Path, user: str | None, **options: Any) -> None:
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"no user named {user!r}")
        manifest = read_manifest(directory)
        added_suspects = added_photos = 0
        for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
            photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
            entry = manifest.get(_key(folder.name)) or {
                "name": folder.name.replace("_", " ").title(), "id": folder.name,
                "status": Suspect.Status.PERSON_OF_INTEREST,
            }
            with transaction.atomic():
                suspect = Suspect.objects.filter(external_id=entry["id"]).first()
                if suspect is None:
                    suspect = suspect_create(
                        actor=actor, name=entry["name"], external_id=entry["id"], status=entry["status"]
                    )
                    added_suspects += 1
                elif _key(folder.name) in manifest:
                    suspect_update(actor=actor, suspect=suspect, name=entry["name"], status=entry["status"])
            for photo_path in photos:
                sha256 = sha256_of_path(photo_path)
                if SuspectPhoto.objects.filter(suspect=suspect, sha256=sha256).exists():
                    continue
                with open(photo_path, "rb") as handle:
                    suspect_photo_add(actor=actor, suspect=suspect, upload=File(handle, name=photo_path.name))
                added_photos += 1
        self.stdout.write(f"imported {added_suspects} new suspects and {added_photos} new photos from {directory}")

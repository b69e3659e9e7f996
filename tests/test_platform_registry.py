"""The suspect registry: ``manage.py import_suspects`` reads a folder of people and is safe to run again."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from conftest import HAMILTON_CLIP, shared_file
from django.core.management import CommandError, call_command

from facecase.models import AuditEvent
from suspects.models import Suspect, SuspectPhoto


@pytest.fixture
def registry_folder(tmp_path: Path) -> Path:
    """``<name>/*.jpg`` for the five people of the KNN example, linked (not copied) from the shared data, plus
    a manifest that names two of them and gives their status."""
    train = shared_file(HAMILTON_CLIP.parent / "knn_examples" / "train")
    folder = tmp_path / "registry"
    folder.mkdir()
    for person in sorted(train.iterdir()):
        (folder / person.name).symlink_to(person, target_is_directory=True)
    (folder / "suspects.json").write_text(json.dumps([
        {"name": "Barack Obama", "id": "obama", "status": "wanted"},
        {"name": "Joe Biden", "id": "S-0002", "status": "missing"},
    ]))
    (folder / "biden").rename(folder / "Joe Biden")  # a folder may be named after the manifest name, not the id
    return folder


def import_suspects(folder: Path) -> str:
    out = StringIO()
    call_command("import_suspects", str(folder), stdout=out)
    return out.getvalue()


def test_it_imports_people_and_photos_once(db: None, registry_folder: Path):
    assert "imported 5 new suspects and 9 new photos" in import_suspects(registry_folder)
    events = AuditEvent.objects.count()
    assert "imported 0 new suspects and 0 new photos" in import_suspects(registry_folder)

    assert Suspect.objects.count() == 5 and SuspectPhoto.objects.count() == 9
    assert AuditEvent.objects.count() == events
    obama = Suspect.objects.get(external_id="obama")
    assert (obama.name, obama.status, obama.photos.count()) == ("Barack Obama", "wanted", 2)
    biden = Suspect.objects.get(external_id="S-0002")
    assert (biden.name, biden.status) == ("Joe Biden", "missing")
    rose = Suspect.objects.get(external_id="rose_leslie")
    assert (rose.name, rose.status) == ("Rose Leslie", "person_of_interest")
    for photo in SuspectPhoto.objects.all():
        assert len(photo.sha256) == 64 and Path(photo.image.path).is_file()


def test_it_refuses_a_manifest_with_an_unknown_status(db: None, registry_folder: Path):
    (registry_folder / "suspects.json").write_text(json.dumps([{"name": "X", "id": "x", "status": "dangerous"}]))
    with pytest.raises(CommandError, match="status 'dangerous'"):
        import_suspects(registry_folder)
    assert Suspect.objects.count() == 0


def test_it_refuses_a_photo_that_is_not_an_image(alice: Any, tmp_path: Path, private_media: Path):
    folder = tmp_path / "bad" / "someone"
    folder.mkdir(parents=True)
    (folder / "photo.jpg").write_text("not a photo")
    with pytest.raises(Exception, match="not a readable image"):
        import_suspects(folder.parent)
    assert SuspectPhoto.objects.count() == 0
    assert [p for p in private_media.rglob("*") if p.is_file()] == []

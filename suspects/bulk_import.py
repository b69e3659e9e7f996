"""Bulk import from a zip upload, mirroring ``manage.py import_suspects``: the archive is unpacked into a private
temporary folder and handed to that same command, so both paths share one behaviour (ids, manifest, idempotence)."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from facecase.files import check_image
from facecase.services import audit_record

MAX_FILES = 5000
MAX_UNPACKED_BYTES = 500 * 1024**2
ALLOWED = {".jpg", ".jpeg", ".png", ".json"}


def _safe_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Refuse absolute paths, ``..``, links and zip bombs before writing a byte."""
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_FILES:
        raise ValidationError(f"the archive holds {len(members)} files; the limit is {MAX_FILES}")
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise ValidationError(f"the archive unpacks to more than {MAX_UNPACKED_BYTES // 1024**2} MB")
    kept = []
    for member in members:
        path = PurePosixPath(member.filename)
        if path.is_absolute() or ".." in path.parts or (member.external_attr >> 16) & 0o170000 == 0o120000:
            raise ValidationError(f"unsafe path in archive: {member.filename}")
        if path.parts[0] == "__MACOSX" or path.name.startswith("."):
            continue
        if path.suffix.lower() in ALLOWED:
            kept.append(member)
    return kept


def _extract(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], workdir: Path) -> None:
    """Unpack, never writing more than a member declares: a member that inflates past its declared size (sizes in
    the directory are the archive's word, not a fact) or fails its CRC is damage, refused with its name."""
    for member in members:
        target = workdir / PurePosixPath(member.filename)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(member) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            raise ValidationError(f"the archive is damaged or unsupported at {member.filename} ({exc})") from exc
        except OSError as exc:
            raise ValidationError(f"the archive could not be unpacked at {member.filename} ({exc})") from exc


def _check_photos(workdir: Path) -> None:
    """Every photo is decoded (the product's decoder) before any row is written, so a bad file refuses the whole
    archive with its name instead of leaving half an import."""
    bad = []
    for path in sorted(workdir.rglob("*")):
        if path.is_file() and path.suffix.lower() in ALLOWED - {".json"}:
            try:
                check_image(path)
            except ValidationError as exc:
                bad.append(f"{path.relative_to(workdir)}: {' '.join(exc.messages)}")
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ValidationError(f"{len(bad)} file(s) in the archive are not readable images: {shown}")


def _root(folder: Path) -> Path:
    """Zips made by "compress folder" wrap everything in one top folder; look inside it (unless that folder is
    itself the one suspect's folder of photos)."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and any(p.is_dir() for p in entries[0].iterdir()):
        return entries[0]
    return folder


def suspect_import_zip(*, actor: Any, upload: Any) -> str:
    """Import the archive and return the command's summary line. Raises ``ValidationError`` with the reason."""
    # Uploads arrive on disk (the hashing upload handler): open them in place rather than reading them into memory.
    if hasattr(upload, "temporary_file_path"):
        source: Any = upload.temporary_file_path()
    else:
        upload.seek(0)
        source = io.BytesIO(upload.read())
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ValidationError("this file is not a zip archive (or its directory is damaged)") from exc
    workdir = Path(tempfile.mkdtemp(prefix="facecase-import-"))
    try:
        with archive:
            members = _safe_members(archive)
            if not members:
                raise ValidationError("the archive holds no .jpg/.png photos in <name>/ folders")
            _extract(archive, members, workdir)
        _check_photos(workdir)
        out = io.StringIO()
        try:
            with transaction.atomic():  # all of it or nothing: no suspect without the photos the archive gave
                call_command("import_suspects", str(_root(workdir)), user=actor.get_username(), stdout=out)
        except CommandError as exc:
            raise ValidationError(str(exc)) from exc
        summary = out.getvalue().strip().replace(str(_root(workdir)), getattr(upload, "name", "the archive"))
        audit_record(actor=actor, verb="bulk_import", object_type="suspects.suspect",
                     details={"archive": getattr(upload, "name", ""), "summary": summary})
        return summary
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

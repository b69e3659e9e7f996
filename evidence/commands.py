"""Shared by ``manage.py export_case`` and ``export_alert``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from evidence.build import ExportResult, evidence_download_record


def exporting_user(username: str | None) -> Any:
    if not username:
        return None  # recorded as the operating-system user who ran the command
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {username!r}")
    return user


def report_result(out: IO[str], result: ExportResult) -> None:
    out.write(f"package {result.path}\nsha256 {result.sha256}\nsize {result.size} bytes, {result.counts['files']} "
              f"files, {result.counts['alerts']} alert(s), {result.counts['footage']} original(s)\n"
              f"check it with: python -m facecase_verify {result.path}\n")


def copy_out(out: IO[str], result: ExportResult, output: str | None, *, actor: Any, obj: Any) -> None:
    """Copy the package out of private storage (a hand-over, audited like a download)."""
    if not output:
        return
    target = Path(output)
    if target.is_dir():
        target = target / result.filename
    shutil.copyfile(result.path, target)  # copied in chunks, never read whole
    evidence_download_record(actor=actor, result=result, obj=obj, via=f"manage.py --output {target.resolve()}")
    out.write(f"copied to {target}\n")

"""Hostile and broken input, and footage formats: what each file of the tests' corpora ends in (not a speed figure).

Builds a fresh SQLite database in a temporary folder, makes the corpora of ``tests/media_corpus.py`` with ffmpeg,
uploads every file through Django's full request stack (REST API for footage, the import page for archives) and runs
the footage job of each accepted file in this process (``footage.tasks.process_footage``, what a worker runs). Then
a good clip is uploaded and processed after all of them. Counts HTTP 500s, jobs not finished (stuck), files left in
the upload folder or in temporary import folders, and prints two markdown tables (hostile input; formats).

    .venv/bin/python benchmarks/inputs.py
"""

from __future__ import annotations

import html
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="facecase-bench-inputs-"))
    os.environ["FACECASE_VAR_DIR"] = str(workdir)
    os.environ["PRIVATE_MEDIA_ROOT"] = str(workdir / "media")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facecase.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    run(workdir)


def run(workdir: Path) -> None:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from facecase.roles import assign_role
    from facecase.services import case_create
    from footage.models import Footage, Sighting
    from footage.tasks import process_footage
    from tests.media_corpus import (
        FORMATS,
        HOSTILE_NAMES,
        X264,
        astronaut_jpeg,
        ffmpeg,
        hostile_footage,
        hostile_zips,
        make_master,
    )

    users = get_user_model()
    charlie = users.objects.create_user("charlie", password="x")
    assign_role(charlie, "analyst")
    alice = users.objects.create_user("alice", password="x", is_superuser=True, is_staff=True)
    assign_role(alice, "admin")
    case = case_create(actor=charlie, reference="CASE-1", title="inputs", description="")
    analyst, admin = Client(raise_request_exception=False), Client(raise_request_exception=False)
    analyst.force_login(charlie)
    admin.force_login(alice)

    corpus = workdir / "corpus"
    corpus.mkdir()
    masters = {"landscape": make_master(corpus),
               "portrait": make_master(corpus, width=240, height=320, name="portrait-master.mkv")}
    clip = corpus / "clip.mp4"
    ffmpeg("-i", str(masters["landscape"]), *X264, str(clip))
    scratch = {"clip": clip, "folder": corpus}
    imports_before = set(Path(tempfile.gettempdir()).glob("facecase-import-*"))

    def footage_row(name: str, content: bytes) -> tuple[int, str, str]:
        response = analyst.post(f"/api/cases/{case.pk}/footage/", {"file": SimpleUploadedFile(name, content)})
        if response.status_code != 201:
            body = response.json().get("file", [""])[0] if response.get("Content-Type") == "application/json" else ""
            return response.status_code, "-", body
        footage_id = response.json()["id"]
        try:
            process_footage(footage_id)
        except BaseException as exc:  # a crash out of the job is what a stuck job looks like from outside
            return 201, f"crashed: {type(exc).__name__}", str(exc)[:120]
        footage = Footage.objects.get(pk=footage_id)
        return 201, footage.status, footage.error

    rows, five_hundreds, stuck = [], 0, 0
    started = time.perf_counter()
    for item in hostile_footage():
        status, job, reason = footage_row(item.name, item.make(scratch))
        rows.append(("footage", item.name, status, job, reason))
    for kind, name in HOSTILE_NAMES.items():
        status, job, reason = footage_row(name, astronaut_jpeg())
        shown = Footage.objects.order_by("-pk").values_list("original_name", flat=True).first() if status == 201 else ""
        rows.append(("name", kind, status, job, f"stored as {shown[:40]!r}" if shown else reason))
    for kind, (make, _) in hostile_zips().items():
        response = admin.post("/suspects/import/", {"archive": SimpleUploadedFile(f"{kind}.zip", make())})
        text = response.content.decode(errors="replace")
        found = re.search(r'class="field-error"[^>]*>([^<]*)<', text)
        reason = html.unescape(found.group(1)).strip() if found else ""
        rows.append(("archive", kind, response.status_code, "-", reason))
    five_hundreds = sum(1 for row in rows if row[2] >= 500)
    stuck = sum(1 for row in rows if row[3] not in ("-", "done", "failed"))
    good_status, good_job, _ = footage_row("after.mp4", clip.read_bytes())
    good = Footage.objects.order_by("-pk").first()
    incoming = list((workdir / "media" / "incoming").glob("*"))
    imports_left = set(Path(tempfile.gettempdir()).glob("facecase-import-*")) - imports_before
    elapsed = time.perf_counter() - started

    print("## Hostile and broken input\n")
    print(f"{len(rows)} inputs tried: **{five_hundreds} HTTP 500**, **{stuck} jobs not finished**; "
          f"{len(incoming)} files left in the upload folder, {len(imports_left)} temporary import folders left; "
          f"the good clip uploaded after them: HTTP {good_status}, job {good_job}, "
          f"{Sighting.objects.filter(footage=good).count()} sighting(s). ({elapsed:.0f} s)\n")
    print("| kind | input | HTTP | job | reason given |\n|---|---|---|---|---|")
    for kind, name, status, job, reason in rows:
        print(f"| {kind} | `{name[:40]}` | {status} | {job} | {reason.replace('|', '/')[:150]} |")

    print("\n## Footage formats\n")
    print("| file | HTTP | job | duration s | first / last sighting s (face on screen 1.0-3.0 s) | frames |\n"
          "|---|---|---|---|---|---|")
    for fmt in FORMATS:
        path = fmt.make(corpus, masters)
        status, job, reason = footage_row(fmt.name, path.read_bytes())
        footage = Footage.objects.order_by("-pk").first()
        sightings = list(Sighting.objects.filter(footage=footage)) if status == 201 else []
        times = (f"{min(s.first_ts for s in sightings):.2f} / {max(s.last_ts for s in sightings):.2f}"
                 if sightings else "none")
        duration = f"{footage.duration:.2f}" if status == 201 and footage.duration else "-"
        frames = footage.frame_count if status == 201 else "-"
        print(f"| `{fmt.name}` | {status} | {job}{' (' + reason[:80] + ')' if reason else ''} | {duration} | "
              f"{times} | {frames} |")


if __name__ == "__main__":
    main()

"""``manage.py verify_evidence`` re-hashes every original and derived file against the database: all match after a
real analysis; an altered crop and a missing original are each named, and the exit code says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import pytest
from conftest import REPO_ROOT, wait_for
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from enhancement.synthetic import astronaut_bgr
from facecase.models import AuditEvent
from footage.models import Footage, Sighting
from footage.services import footage_ingest

pytestmark = pytest.mark.django_db(transaction=True)


def verify(worker_env: dict[str, str], private_media: Path) -> subprocess.CompletedProcess:
    env = {**worker_env, "PRIVATE_MEDIA_ROOT": str(private_media)}
    return subprocess.run([sys.executable, str(REPO_ROOT / "manage.py"), "verify_evidence"], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def test_it_reports_altered_and_missing_evidence_with_a_failing_exit_code(
        worker_env: dict[str, str], charlie: Any, charlies_case: Any, live_worker: Any, settings: Any,
        tmp_path: Path):
    # The upload is committed and queued, so the session's worker runs it, as in production (processing it here as
    # well would race that worker for the job); its files are in the worker's media folder.
    private_media = Path(live_worker.media_root)
    settings.VAR_DIR = tmp_path / "var"
    photo = SimpleUploadedFile("astronaut.png", cv2.imencode(".png", astronaut_bgr())[1].tobytes())
    footage = footage_ingest(actor=charlie, case=charlies_case, upload=photo)
    done = wait_for(lambda: Footage.objects.filter(pk=footage.pk, status__in=["done", "failed"]).first(),
                    timeout_s=600, what=f"footage {footage.pk} to be analysed", worker=live_worker)
    assert done.status == "done", done.error
    sighting = Sighting.objects.get(footage=footage)
    crops = [entry["crop"] for entry in sighting.track_frames if entry.get("crop")]
    assert crops, "the analysis stored no track crop"

    clean = verify(worker_env, private_media)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    checked = int(clean.stdout.split(" file(s) checked")[0].split()[-1])
    assert checked >= 3 + len(crops)  # original, raw and enhanced crop, every track crop

    crop = private_media / crops[0]
    crop.write_bytes(crop.read_bytes() + b"\0")
    Path(Footage.objects.get(pk=footage.pk).original.path).unlink()
    broken = verify(worker_env, private_media)
    assert broken.returncode == 1
    assert f"MISMATCH  sighting {sighting.pk} (footage {footage.pk}, track {sighting.track_id}) frame" in broken.stdout
    assert f"MISSING   footage {footage.pk} original" in broken.stdout
    assert "1 missing, 1 altered" in broken.stderr

    with pytest.raises(Exception) as failed:
        call_command("verify_evidence", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert failed.value.returncode == 1
    assert AuditEvent.objects.filter(verb="evidence_verify").count() == 3

"""A worker's PostgreSQL connection dropped mid-job (the server terminates its sessions, as a failover or a restart
does): the job goes back to the queue and resumes from its checkpoint, and no sighting is left half-written: every
row has all its files with the recorded hashes, and no file is left without its row. That holds wherever the drop
lands, also inside a receiver's transaction after a sighting is stored, which drops the broken connection itself."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import HAMILTON_CLIP, REPO_ROOT, shared_file, wait_for
from django.db import connection, transaction
from test_analysis_e2e import finished, looped_clip, start_worker, stop, upload

from facesearch.models import ProfileMember
from footage.models import Footage, JobLogLine, Sighting
from footage.signals import sighting_stored
from footage.tasks import process_footage

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def terminate_sessions(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                       [application_name])
        return cursor.fetchone()[0]


def test_it_resumes_a_job_whose_database_connection_was_dropped_and_leaves_nothing_half_written(
        worker_env: dict[str, str], charlie: Any, charlies_case: Any, private_media: Path, tmp_path: Path,
        monkeypatch: Any):
    if connection.vendor != "postgresql":
        pytest.skip("dropping a worker's database connection needs a database server (pg_terminate_backend); "
                    "SQLite has no connection to drop. CI runs this test on PostgreSQL.")
    from django_q.conf import Conf

    queue = f"{worker_env['FACECASE_Q_NAME']}-db-{uuid.uuid4().hex[:4]}"
    monkeypatch.setattr(Conf, "PREFIX", queue)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", queue)
    application_name = f"fc-worker-{uuid.uuid4().hex[:6]}"
    env = {**worker_env, "DATABASE_URL": f"{worker_env['DATABASE_URL']}?application_name={application_name}",
           "FACECASE_JOB_HEARTBEAT_S": "1"}
    clip = looped_clip(tmp_path / "twice.mp4", 2)
    worker = start_worker(env, queue, private_media, tmp_path / "worker.log")
    try:
        footage = upload(charlie, charlies_case, clip)

        def mid_job() -> bool:
            row = Footage.objects.get(pk=footage.pk)
            return row.status == "processing" and row.progress >= 30 and Sighting.objects.filter(
                footage=footage).exists() and (row.analysis_state or {}).get("checkpoint") is not None

        wait_for(mid_job, timeout_s=900, what="the job to be mid-video with a checkpoint", worker=worker)
        assert terminate_sessions(application_name) >= 1
        footage = finished(footage.pk, worker)
    finally:
        stop(worker, signal.SIGTERM)
    log = list(JobLogLine.objects.filter(footage=footage).values_list("message", flat=True))
    worker_log = (tmp_path / "worker.log").read_text(errors="replace")[-6000:]
    assert any(line.startswith("database connection lost") for line in log), "\n".join(log) + "\n" + worker_log
    assert any("resuming after frame" in line for line in log), log
    assert sum(line.startswith("processing ") for line in log) == 2  # the first run and the resumed one

    sightings = list(Sighting.objects.filter(footage=footage))
    assert len({s.track_id for s in sightings}) == len(sightings)
    referenced = set()
    for sighting in sightings:
        referenced |= {sighting.raw_crop.name, sighting.enhanced_crop.name}
        if sighting.averaged_chip:
            referenced.add(sighting.averaged_chip.name)
        referenced |= {entry["crop"] for entry in sighting.track_frames if entry.get("crop")}
    on_disk = {str(p.relative_to(private_media)) for p in (private_media / "sightings").rglob("*") if p.is_file()}
    assert on_disk == referenced, f"files without a row: {sorted(on_disk - referenced)[:5]}"
    check = subprocess.run([sys.executable, str(REPO_ROOT / "manage.py"), "verify_evidence"], cwd=REPO_ROOT,
                           env={**worker_env, "PRIVATE_MEDIA_ROOT": str(private_media)}, capture_output=True,
                           text=True, timeout=300)
    assert check.returncode == 0, check.stdout[-3000:]


def test_it_requeues_a_job_whose_connection_dropped_inside_a_receivers_transaction(
        charlie: Any, charlies_case: Any, isolated_queue: None, monkeypatch: Any):
    """``sighting_stored`` runs its receivers robustly, and a transaction whose connection dropped closes it: the job
    used to carry on, on a new connection, without a word (the flaky CI run of the test above). The drop is real: the
    receiver's session terminates itself."""
    if connection.vendor != "postgresql":
        pytest.skip("a session terminating itself needs a database server; CI runs this test on PostgreSQL.")
    from django_q.conf import Conf

    queue = f"{Conf.CLUSTER_NAME}-gone-{uuid.uuid4().hex[:4]}"  # no worker reads it: this test runs the job itself
    monkeypatch.setattr(Conf, "PREFIX", queue)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", queue)
    dropped: list[int] = []

    def drop_once(sender: Any, sighting_id: int, **kwargs: Any) -> None:
        if not dropped:
            dropped.append(sighting_id)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    still = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg")
    footage = upload(charlie, charlies_case, still)
    sighting_stored.connect(drop_once, dispatch_uid="test.drop_once")
    try:
        assert process_footage(footage.pk) == "queued"
    finally:
        sighting_stored.disconnect(dispatch_uid="test.drop_once")
    assert dropped, "no sighting was stored: the test did not run its receiver"
    log = list(JobLogLine.objects.filter(footage=footage).values_list("message", flat=True))
    assert any(line.startswith("database connection lost") for line in log), log
    assert Footage.objects.get(pk=footage.pk).status == "queued"

    assert process_footage(footage.pk) == "done", Footage.objects.get(pk=footage.pk).error
    sightings = list(Sighting.objects.filter(footage=footage))
    assert [s.pk for s in sightings] == dropped  # the resumed run found it stored and stored nothing twice
    assert ProfileMember.objects.filter(sighting=sightings[0]).count() == 1  # announced twice, joined once

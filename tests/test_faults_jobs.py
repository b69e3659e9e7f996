"""Jobs survive dead workers and hosts: a job whose worker stopped sending heartbeats is queued again (and fails once
its worker died too often), and two worker clusters on one database and queue process 100 jobs exactly once even
when one cluster is killed mid-run."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REPO_ROOT, wait_for
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from skimage.data import astronaut

from facecase.models import AuditEvent
from footage.models import Footage, JobLogLine, Sighting
from footage.services import footage_ingest, footage_recover_stale_jobs


def still(n: int, size: int = 2) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.fromarray(np.roll(astronaut(), 7 * n, axis=1)[::size, ::size]).save(buffer, format="PNG")
    return SimpleUploadedFile(f"still-{n}.png", buffer.getvalue())


@pytest.mark.django_db
def test_it_requeues_a_job_whose_worker_went_silent_and_fails_one_that_died_too_often(
        charlie: Any, charlies_case: Any, settings: Any):
    settings.FACECASE_JOB_STALE_AFTER_S = 60
    settings.FACECASE_JOB_MAX_ATTEMPTS = 3
    now = timezone.now()
    silent, alive, doomed, forgotten, never_sent = (footage_ingest(actor=charlie, case=charlies_case, upload=still(n))
                                                    for n in range(5))
    Footage.objects.filter(pk=silent.pk).update(status="processing", claimed_by="host-a:11", attempts=1,
                                                heartbeat_at=now - timedelta(seconds=61))
    Footage.objects.filter(pk=alive.pk).update(status="processing", claimed_by="host-b:12", attempts=1,
                                               heartbeat_at=now - timedelta(seconds=30))
    Footage.objects.filter(pk=doomed.pk).update(status="processing", claimed_by="host-a:13", attempts=3,
                                                heartbeat_at=now - timedelta(seconds=600))
    long_ago = now - timedelta(seconds=settings.FACECASE_JOB_RESEND_AFTER_S + 1)
    Footage.objects.filter(pk=forgotten.pk).update(enqueued_at=long_ago)
    Footage.objects.filter(pk=never_sent.pk).update(enqueued_at=None, updated_at=long_ago)  # the queue was down

    assert footage_recover_stale_jobs(now=now) == {"requeued": 1, "failed": 1, "resent": 2}
    rows = {f.pk: f for f in Footage.objects.all()}
    assert (rows[silent.pk].status, rows[silent.pk].claimed_by) == ("queued", "")
    assert (rows[alive.pk].status, rows[alive.pk].claimed_by) == ("processing", "host-b:12")
    assert rows[doomed.pk].status == "failed" and "3 times" in rows[doomed.pk].error
    assert rows[forgotten.pk].enqueued_at >= now and rows[never_sent.pk].enqueued_at >= now
    assert AuditEvent.objects.filter(verb="requeue", object_id=str(silent.pk)).count() == 1
    assert JobLogLine.objects.filter(footage=silent, message__contains="no heartbeat from host-a:11").exists()
    # A second sweep right after changes nothing: every step is a conditional update.
    assert footage_recover_stale_jobs(now=now) == {"requeued": 0, "failed": 0, "resent": 0}


def start_cluster(env: dict[str, str], host: str, log: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, str(REPO_ROOT / "manage.py"), "qcluster"], cwd=REPO_ROOT,
                               env={**env, "FACECASE_HOST_NAME": host}, stdout=open(log, "ab"),  # noqa: SIM115
                               stderr=subprocess.STDOUT, start_new_session=True)
    process.log_path = log  # type: ignore[attr-defined]
    return process


def kill_cluster(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the whole host at once: leader, pusher, workers, no clean shutdown
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def processed_on(footage_id: int) -> list[str]:
    lines = JobLogLine.objects.filter(footage_id=footage_id, message__startswith="processing ")
    return [line.rsplit(" on ", 1)[-1].split(":")[0] for line in lines.values_list("message", flat=True)]


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_processes_100_jobs_exactly_once_on_two_clusters_when_one_is_killed(
        worker_env: dict[str, str], charlie: Any, charlies_case: Any, private_media: Path, tmp_path: Path,
        monkeypatch: Any):
    from django_q.conf import Conf
    from django_q.models import Schedule

    queue = f"{worker_env['FACECASE_Q_NAME']}-two-{uuid.uuid4().hex[:4]}"  # read only by the two clusters below
    monkeypatch.setattr(Conf, "PREFIX", queue)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", queue)
    # The sweep's schedule as migration footage 0005 creates it (a transactional test before this one may have
    # flushed the table), assigned to these two clusters only so the session's own worker leaves it alone.
    Schedule.objects.update_or_create(name="footage-recover-stale-jobs", defaults={
        "func": "footage.tasks.recover_stale_jobs", "schedule_type": "I", "minutes": 1, "repeats": -1,
        "cluster": queue})
    env = {**worker_env, "FACECASE_Q_NAME": queue, "PRIVATE_MEDIA_ROOT": str(private_media),
           "FACECASE_JOB_HEARTBEAT_S": "2", "FACECASE_JOB_STALE_AFTER_S": "15", "FACECASE_JOB_RESEND_AFTER_S": "20"}
    jobs = [footage_ingest(actor=charlie, case=charlies_case, upload=still(n, size=4)).pk for n in range(100)]
    host_a = start_cluster(env, "host-a", tmp_path / "host-a.log")
    host_b = start_cluster(env, "host-b", tmp_path / "host-b.log")
    try:
        def a_is_busy() -> bool:
            mid_job = Footage.objects.filter(status="processing", claimed_by__startswith="host-a:").exists()
            return mid_job and sum("host-a" in processed_on(pk) for pk in jobs) >= 5

        def held_by_a() -> list[int]:
            # A job counts as held once host-a has logged that it processes it: a freeze between its claim of the
            # row and that line (footage.tasks.process_footage claims, then logs) leaves no trace of host-a to check.
            claimed = Footage.objects.filter(status="processing", claimed_by__startswith="host-a:")
            return [pk for pk in claimed.values_list("pk", flat=True) if "host-a" in processed_on(pk)]

        # Freeze host-a (every process of it) before reading which job it holds, so the job cannot finish between
        # the check and the kill; a job that finished just before the freeze means trying again.
        held: list[int] = []
        while not held:
            wait_for(a_is_busy, timeout_s=600, what="host-a to be mid-job after a few jobs", worker=host_a)
            os.killpg(host_a.pid, signal.SIGSTOP)
            held = held_by_a()
            if not held:
                os.killpg(host_a.pid, signal.SIGCONT)
        kill_cluster(host_a)
        killed_at = timezone.now()

        def all_finished() -> bool:
            return not Footage.objects.filter(pk__in=jobs).exclude(status__in=["done", "failed"]).exists()

        wait_for(all_finished, timeout_s=900, what="host-b to finish every job", worker=host_b)
    finally:
        kill_cluster(host_a)
        kill_cluster(host_b)
    rows = Footage.objects.filter(pk__in=jobs)
    assert rows.filter(status="done").count() == 100, list(rows.exclude(status="done").values("pk", "error"))
    finished = AuditEvent.objects.filter(verb="processed", object_id__in=[str(pk) for pk in jobs])
    assert sorted(int(pk) for pk in finished.values_list("object_id", flat=True)) == sorted(jobs)  # once each
    # The job host-a held when it died was taken back from its stale lease and finished by host-b.
    taken_back = held
    assert all(processed_on(pk) == ["host-a", "host-b"] for pk in taken_back), {pk: processed_on(pk) for pk in held}
    assert AuditEvent.objects.filter(verb="requeue", object_id__in=[str(pk) for pk in taken_back]).exists()
    done_after = [pk for pk in jobs if processed_on(pk) == ["host-b"]]
    assert done_after, "host-b processed nothing on its own"
    assert Footage.objects.filter(pk__in=jobs, finished_at__gt=killed_at).exists()
    # Exactly once also for what the jobs wrote: one sighting per track, no track stored twice.
    per_track = Sighting.objects.filter(footage_id__in=jobs).values_list("footage_id", "track_id")
    assert len(per_track) == len(set(per_track))

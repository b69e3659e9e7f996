"""Exports asked for over the API are built by the real queue worker (``manage.py qcluster`` in its own process), not
in the request: the request answers 202 at once with the export's record, the worker takes it from queued to done,
and the package is handed out afterwards, audited with its SHA-256 and who downloaded it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_for
from django.test import Client

from facecase.models import AuditEvent
from facecase_verify import verify_package

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WORKER_S = 300  # bounds a hang only (the worker's first export imports WeasyPrint on a busy machine)


def test_it_builds_an_api_export_in_the_worker_and_hands_it_out_audited(
        live_worker: Any, alice: Any, bob: Any, charlie: Any, charlies_case: Any, tmp_path: Path):
    from tests.ui_factory import make_alert, make_suspect

    alert = make_alert(charlies_case, charlie, make_suspect(alice))
    client = Client()
    client.force_login(charlie)
    queued = client.post(f"/api/cases/{charlies_case.pk}/export/", {"alerts": "all"}, content_type="application/json")
    assert queued.status_code == 202, queued.content
    record = queued.json()
    assert record["status"] == "queued" and record["download_url"] is None and record["requested_by"] == "charlie"
    assert queued["Location"] == record["url"]
    assert not AuditEvent.objects.filter(verb="export").exists()  # nothing was built in the request

    def finished() -> dict[str, Any] | None:
        state = client.get(record["url"]).json()
        return state if state["status"] in ("done", "failed") else None

    state = wait_for(finished, WORKER_S, "the worker to build the export", live_worker)
    assert state, f"the export did not finish; worker log: {live_worker.log_path.read_text()[-3000:]}"
    assert state["status"] == "done", state["error"]
    assert state["counts"]["alerts"] == 1 and state["started_at"] and state["finished_at"]

    response = client.get(state["download_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)
    digest = hashlib.sha256(body).hexdigest()
    assert digest == state["sha256"] == response["X-Package-SHA256"]
    package = tmp_path / state["filename"]
    package.write_bytes(body)
    verification = verify_package(str(package), replay=False)
    assert verification.ok and verification.manifest["covers"]["alert_ids"] == [alert.pk]
    export = AuditEvent.objects.get(verb="export", object_type="facecase.case")
    download = AuditEvent.objects.get(verb="download", object_type="facecase.case")
    assert (export.actor, export.details["sha256"], export.details["via"]) == (charlie, digest, "api")
    assert (download.actor, download.details["sha256"]) == (charlie, digest)

    operator = Client()
    operator.force_login(bob)  # reviews alerts, is not on the case: neither the record nor the package
    assert operator.get(record["url"]).status_code in (403, 404)
    assert operator.get(state["download_url"]).status_code in (403, 404)
    assert AuditEvent.objects.filter(verb="download").count() == 1

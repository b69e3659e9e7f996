"""Evidence export: a signed package per case or alert, checked by the standalone verifier.

The main stories export a case produced by real analysis (the footage job run in this process, as
tests/test_analysis_registry.py does, on the synthetic CCTV clip made from ``skimage.data.astronaut()``), then
verify it, then alter it in every way a recipient could receive it altered.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import cv2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from enhancement.synthetic import astronaut_bgr, make_cctv_clip
from evidence.build import evidence_export_case
from evidence.models import EvidenceExport
from evidence.services import evidence_export_run
from facecase.models import AuditEvent
from facecase_verify import verify_package
from footage.models import Alert, Footage
from footage.services import alert_confirm, footage_ingest
from footage.tasks import process_footage
from suspects.enrolment import registry_rebuild
from suspects.services import suspect_create, suspect_photo_add

REPO_ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_var_dir(settings: Any, tmp_path: Path) -> Path:
    """The signing key (and any recalibrated threshold) live in a var folder of this test's own."""
    var = tmp_path / "var"
    var.mkdir()
    settings.VAR_DIR = var
    return var


@pytest.fixture
def confirmed_alert(alice: Any, bob: Any, charlie: Any, charlies_case: Any, tmp_path: Path) -> Alert:
    """Eileen enrolled, the CCTV clip analysed by the real footage job, and bob's confirmation of its alert."""
    from suspects.models import Suspect

    eileen = suspect_create(actor=alice, name="Eileen Collins", external_id="E-1", status=Suspect.Status.WANTED)
    photo = cv2.imencode(".png", astronaut_bgr())[1].tobytes()
    suspect_photo_add(actor=alice, suspect=eileen, upload=SimpleUploadedFile("eileen.png", photo))
    registry_rebuild(reason="test")
    # a face ~44 px wide: small enough for the policy to super-resolve it (a learned step), big enough to match
    clip = make_cctv_clip(tmp_path / "platform2.mp4", face_px=32).path
    footage = footage_ingest(actor=charlie, case=charlies_case, upload=SimpleUploadedFile(clip.name, clip.read_bytes()))
    assert process_footage(footage.pk) == "done", Footage.objects.get(pk=footage.pk).error
    alert = Alert.objects.get(footage=footage)
    return alert_confirm(actor=bob, alert=alert, note="same face, same jacket as the custody photo")


def rewrite(package: Path, target: Path, *, change: dict[str, bytes] | None = None, drop: str = "",
            add: tuple[str, bytes] | None = None) -> Path:
    """A copy of ``package`` repacked with members replaced, removed or added: what a tamperer would produce."""
    change = change or {}
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            if info.filename == drop:
                continue
            out.writestr(info, change.get(info.filename, source.read(info.filename)))
        if add:
            out.writestr(*add)
    return target


def run_queued_export(response: Any) -> EvidenceExport:
    """What the queue worker does with the export a page or the API just queued (the service it runs, in this
    process: these tests' rows live in a transaction no worker process can see; ``test_evidence_queue`` runs the
    real worker)."""
    assert response.status_code in (202, 302), response.status_code
    export_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    assert EvidenceExport.objects.get(pk=export_id).status == EvidenceExport.Status.QUEUED
    evidence_export_run(export_id)
    return EvidenceExport.objects.get(pk=export_id)


def flipped(data: bytes, at: int | None = None) -> bytes:
    index = len(data) // 2 if at is None else at
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def one_of(manifest: dict[str, Any], kind: str) -> str:
    return next(f["path"] for f in manifest["files"] if f["kind"] == kind)


def test_it_exports_an_analysed_case_that_the_verifier_passes_and_names_every_altered_file(
        confirmed_alert: Alert, charlie: Any, charlies_case: Any, tmp_path: Path):
    result = evidence_export_case(actor=charlie, case=charlies_case, alerts="confirmed")
    package = result.path
    out = io.StringIO()
    verification = verify_package(str(package), out=out)
    report = out.getvalue()
    assert verification.ok, report
    manifest = verification.manifest
    assert manifest["exported_by"]["username"] == "charlie"
    assert manifest["covers"]["alert_ids"] == [confirmed_alert.pk]
    assert len(manifest["facecase_version"]["git_commit"]) == 40
    kinds = {f["kind"] for f in manifest["files"]}
    assert {"original", "frame", "raw_crop", "enhanced_crop", "track_crop", "averaged_chip", "record", "report",
            "audit", "suspect_photo", "public_key"} <= kinds
    # the original is the upload, byte for byte, and the verifier replayed the enhancement from the raw crop
    with zipfile.ZipFile(package) as archive:
        original = archive.read(one_of(manifest, "original"))
        alert_record = json.loads(archive.read(f"alerts/alert-{confirmed_alert.pk}/alert.json"))
        folder = f"sightings/sighting-{confirmed_alert.sighting_id}"
        enhancement = json.loads(archive.read(f"{folder}/enhancement.json"))
        averaged_bytes = archive.read(f"{folder}/averaged.png")
        trail = [json.loads(line) for line in archive.read("audit/audit_trail.jsonl").splitlines()]
    assert original == Path(confirmed_alert.footage.original.path).read_bytes()
    assert any(f.status == "OK" and "replayed" in f.message for f in verification.findings), report
    assert alert_record["review"]["by"] == "bob" and alert_record["review"]["decision"] == "confirmed"
    assert alert_record["match"]["gallery_sha256"] == confirmed_alert.registry_version.gallery_sha256
    assert alert_record["match"]["threshold"] is not None and alert_record["match"]["embedder"]
    # which view of the track gave the distance, as the analysis stored it, and said in words when it was the average
    stored = next(c for c in confirmed_alert.sighting.top_candidates if c["suspect_id"] == confirmed_alert.suspect_id)
    assert alert_record["match"]["view"] == stored["view"] in ("crops", "averaged chip")
    assert any("average of the track's best frames" in w for w in alert_record["words"]) == (
        stored["view"] == "averaged chip")
    # the average of the track's aligned frames, as stored, with how it was made
    assert hashlib.sha256(averaged_bytes).hexdigest() == confirmed_alert.sighting.averaged_chip_sha256
    assert enhancement["averaged_chip"]["image"] == f"{folder}/averaged.png"
    assert enhancement["averaged_chip"]["record"] == confirmed_alert.sighting.averaged_chip_record
    assert {("upload", "footage.footage"), ("review", "footage.alert"), ("processed", "footage.footage")} <= {
        (e["verb"], e["object_type"]) for e in trail}

    # standalone: the command line works with Django and TensorFlow made unimportable
    blocked = ("import sys; sys.modules.update(django=None, tensorflow=None, enhancement=None); "
               "from facecase_verify.__main__ import main; sys.exit(main(sys.argv[1:]))")
    fingerprint = manifest["signing_key"]["fingerprint"]
    run = subprocess.run([sys.executable, "-c", blocked, str(package), "--fingerprint", fingerprint],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VERIFIED" in run.stdout and "SKIP replay" in run.stdout
    wrong_key = subprocess.run([sys.executable, "-c", blocked, str(package), "--fingerprint", "SHA256:" + "0" * 64],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert wrong_key.returncode == 1 and "not signed by the installation you named" in wrong_key.stdout

    with zipfile.ZipFile(package) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    cases = {
        "original": one_of(manifest, "original"), "raw crop": one_of(manifest, "raw_crop"),
        "enhanced crop": one_of(manifest, "enhanced_crop"), "track crop": one_of(manifest, "track_crop"),
        "averaged chip": one_of(manifest, "averaged_chip"),
        "frame": one_of(manifest, "frame"), "step record": one_of(manifest, "record"),
        "report.pdf": "report.pdf", "report.html": "report.html", "audit trail": "audit/audit_trail.jsonl",
    }
    for label, name in cases.items():
        altered = rewrite(package, tmp_path / f"{label}.zip", change={name: flipped(members[name])})
        found = verify_package(str(altered), replay=False)
        assert not found.ok and name in found.failed_subjects(), (label, [f.line() for f in found.failures])
    # the manifest: one changed digit in its JSON (still valid JSON) breaks the signature
    manifest_bytes = members["manifest.json"]
    at = manifest_bytes.index(b'"size": ') + len(b'"size": ')
    altered = rewrite(package, tmp_path / "m.zip", change={"manifest.json": flipped(manifest_bytes, at)})
    found = verify_package(str(altered), replay=False)
    assert not found.ok and any("manifest.json" in f.line() for f in found.failures)
    signature = members["signature"]
    found = verify_package(str(rewrite(package, tmp_path / "s.zip", change={"signature": flipped(signature, 10)})),
                           replay=False)
    assert not found.ok and "signature" in found.failed_subjects()
    found = verify_package(str(rewrite(package, tmp_path / "add.zip", add=("originals/extra.mp4", b"not evidence"))),
                           replay=False)
    assert not found.ok and "originals/extra.mp4" in found.failed_subjects()
    removed = one_of(manifest, "raw_crop")
    found = verify_package(str(rewrite(package, tmp_path / "rm.zip", drop=removed)), replay=False)
    assert not found.ok and removed in found.failed_subjects()
    # a byte flipped in the zip file itself (not repacked): the stored member fails its check, by name
    raw = bytearray(package.read_bytes())
    with zipfile.ZipFile(package) as archive:
        info = archive.getinfo(cases["original"])
    raw[info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 100] ^= 0x01
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bytes(raw))
    found = verify_package(str(corrupt), replay=False)
    assert not found.ok and cases["original"] in found.failed_subjects()


def pdf_pages(pdf: Path, folder: Path) -> list[Path]:
    """The PDF's pages as PNG images, rendered by poppler as a reader's viewer would."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: `make evidence-tools` installs it")
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(pdf), str(folder / "page")], check=True, timeout=120)
    return sorted(folder.glob("page-*.png"))


def test_it_exports_from_the_case_page_audits_the_download_and_renders_a_readable_pdf(
        confirmed_alert: Alert, charlie: Any, charlies_case: Any, client: Any, tmp_path: Path):
    client.force_login(charlie)
    page = client.get(f"/cases/{charlies_case.pk}/")
    assert b'id="case-export-form"' in page.content
    queued = client.post(f"/cases/{charlies_case.pk}/export/", {"alerts": "all"})
    assert queued.status_code == 302 and queued["Location"].startswith("/exports/")
    assert b'data-export-status="queued"' in client.get(queued["Location"]).content
    export = run_queued_export(queued)
    assert export.status == EvidenceExport.Status.DONE, export.error
    page = client.get(queued["Location"])
    assert b'data-export-status="done"' in page.content and export.sha256.encode() in page.content
    case_page = client.get(f"/cases/{charlies_case.pk}/").content.decode()
    assert f'data-export-id="{export.pk}" data-export-status="done"' in case_page
    assert f"/exports/{export.pk}/download/" in case_page
    response = client.get(f"/exports/{export.pk}/download/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)
    digest = hashlib.sha256(body).hexdigest()
    assert response["X-Package-SHA256"] == digest
    export = AuditEvent.objects.get(verb="export", object_type="facecase.case", object_id=str(charlies_case.pk))
    download = AuditEvent.objects.get(verb="download", object_type="facecase.case", object_id=str(charlies_case.pk))
    assert export.actor == charlie and export.details["sha256"] == digest
    assert export.details["covers"]["alerts"] == "all"
    assert download.actor == charlie and download.details["sha256"] == digest
    package = tmp_path / "package.zip"
    package.write_bytes(body)
    assert verify_package(str(package), replay=False).ok

    with zipfile.ZipFile(package) as archive:
        (tmp_path / "report.pdf").write_bytes(archive.read("report.pdf"))
        html = archive.read("report.html").decode()
    sighting = confirmed_alert.sighting
    caption = "AI-enhanced image — not original evidence" if sighting.ai_enhanced else "Enhanced image — not original"
    assert caption in html and f'src="sightings/sighting-{sighting.pk}/raw.png"' in html
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True,
                          timeout=60).stdout if shutil.which("pdftotext") else ""
    pages = pdf_pages(tmp_path / "report.pdf", tmp_path)
    keep = os.environ.get("FACECASE_EVIDENCE_PAGES")  # a folder to look at the pages in
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png_page in pages:
            shutil.copy(png_page, Path(keep) / png_page.name)
    assert len(pages) >= 3  # summary, the alert, signature and hashes
    for needed in ("Evidence report: CASE-1", caption, "Confirmed by bob", "Eileen Collins", "Chain of custody"):
        assert needed in " ".join(text.split()), needed
    assert confirmed_alert.footage.sha256 in "".join(text.split())  # hashes wrap across lines on the page
    alert_page = cv2.imread(str(pages[1]))
    # the alert page carries pictures, not only text: many mid-grey pixels (crops, frame) on the white page
    mid = ((alert_page > 40) & (alert_page < 215)).all(axis=2).mean()
    assert mid > 0.05, f"only {mid:.1%} of the alert page is picture"


# --- who may export, refusals, commands, the key: rows from tests/ui_factory.py (real images, no analysis) -----


@pytest.fixture
def alert_on_charlies_case(alice: Any, bob: Any, charlie: Any, dave: Any, mallory: Any, charlies_case: Any) -> Alert:
    from tests.ui_factory import make_alert, make_suspect

    alert = make_alert(charlies_case, charlie, make_suspect(alice))
    return alert_confirm(actor=bob, alert=alert, note="confirmed on the review page")


EXPORT_MATRIX = [
    ("/cases/{case}/export/", dict(anonymous="login", alice=302, bob=403, charlie=302, dave=404, mallory=403)),
    ("/alerts/{alert}/export/", dict(anonymous="login", alice=302, bob=403, charlie=302, dave=404, mallory=403)),
    ("/api/cases/{case}/export/", dict(anonymous=403, alice=202, bob=403, charlie=202, dave=404, mallory=403)),
    # bob reviews every alert but is not on the case: the package would hand him its original footage
    ("/api/alerts/{alert}/export/", dict(anonymous=403, alice=202, bob=404, charlie=202, dave=404, mallory=403)),
]


@pytest.mark.parametrize(("url", "expected"), EXPORT_MATRIX, ids=[url for url, _ in EXPORT_MATRIX])
def test_it_lets_only_those_who_may_see_the_case_export_and_audits_every_package(
        url: str, expected: dict[str, Any], alert_on_charlies_case: Alert, charlies_case: Any,
        request: pytest.FixtureRequest):
    from django.test import Client

    path = url.format(case=charlies_case.pk, alert=alert_on_charlies_case.pk)
    for person, status in expected.items():
        client = Client()
        if person != "anonymous":
            client.force_login(request.getfixturevalue(person))
        before = AuditEvent.objects.filter(verb__in=("export", "download")).count()
        body = {"data": "{}", "content_type": "application/json"} if path.startswith("/api/") else {}
        response = client.post(path, HTTP_ACCEPT="application/json", **body)
        if status == "login":
            assert response.status_code == 302 and response["Location"].startswith("/login/")
        else:
            assert response.status_code == status, (person, response.status_code)
        if status not in (202, 302):
            assert AuditEvent.objects.filter(verb__in=("export", "download")).count() == before, person
            continue
        export = run_queued_export(response)
        assert export.status == EvidenceExport.Status.DONE and export.requested_by.get_username() == person
        download = f"/api/exports/{export.pk}/download/" if path.startswith("/api/") else \
            f"/exports/{export.pk}/download/"
        # the download is checked against the export's case or alert: others who may not export it get a 404
        for other in ("bob", "dave", "mallory"):
            outsider = Client()
            outsider.force_login(request.getfixturevalue(other))
            assert outsider.get(download).status_code in (403, 404), (other, download)
        response = client.get(download)
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        digest = hashlib.sha256(body).hexdigest()
        assert response["X-Package-SHA256"] == digest == export.sha256
        events = AuditEvent.objects.filter(verb__in=("export", "download")).order_by("-id")[:2]
        assert {(e.verb, e.actor_username, e.details["sha256"]) for e in events} == {
            ("export", person, digest), ("download", person, digest)}


@pytest.mark.parametrize("damage", ["original altered", "raw crop missing"])
def test_it_refuses_to_export_evidence_that_changed_or_vanished_since_it_was_stored(
        damage: str, alert_on_charlies_case: Alert, charlie: Any, private_media: Path):
    from django.test import Client

    if damage == "original altered":
        original = Path(alert_on_charlies_case.footage.original.path)
        original.write_bytes(flipped(original.read_bytes()))
        expected = "refusing to export altered evidence"
    else:
        Path(alert_on_charlies_case.sighting.raw_crop.path).unlink()
        expected = "a stored evidence file is missing"
    client = Client()
    client.force_login(charlie)
    export = run_queued_export(client.post(f"/api/alerts/{alert_on_charlies_case.pk}/export/"))
    state = client.get(f"/api/exports/{export.pk}/").json()
    assert state["status"] == "failed" and expected in state["error"] and state["download_url"] is None
    refused = client.get(f"/api/exports/{export.pk}/download/")
    assert refused.status_code == 409 and expected in refused.json()["detail"]
    assert expected in client.get(f"/exports/{export.pk}/").content.decode()
    failure = AuditEvent.objects.get(verb="integrity_failure")
    assert failure.actor == charlie and failure.details["during"] == "export"
    assert not AuditEvent.objects.filter(verb="export").exists()
    assert not [p for p in (private_media / "exports").rglob("*") if p.is_file()]  # no package, no leftovers


def test_it_exports_a_case_and_an_alert_from_the_command_line_and_audits_the_copy(
        alert_on_charlies_case: Alert, charlie: Any, tmp_path: Path):
    out = io.StringIO()
    call_command("export_case", "CASE-1", "--alerts", "all", "--user", "charlie", "--output", str(tmp_path),
                 stdout=out)
    copied = next(tmp_path.glob("CASE-1-*.zip"))
    digest = hashlib.sha256(copied.read_bytes()).hexdigest()
    assert f"sha256 {digest}" in out.getvalue() and "1 alert(s), 1 original(s)" in out.getvalue()
    export = AuditEvent.objects.get(verb="export", object_type="facecase.case")
    assert export.actor == charlie and export.details["sha256"] == digest
    assert export.details["via"] == "manage.py export_case"
    copy = AuditEvent.objects.get(verb="download", object_type="facecase.case")
    assert copy.details["sha256"] == digest and str(copied.resolve()) in copy.details["via"]
    assert verify_package(str(copied), replay=False).ok

    out = io.StringIO()
    call_command("export_alert", str(alert_on_charlies_case.pk), stdout=out)
    package = Path(out.getvalue().split("\n")[0].removeprefix("package "))
    manifest = verify_package(str(package), replay=False).manifest
    assert manifest["exported_by"]["username"] == "" and manifest["exported_by"]["os_user"]
    assert manifest["covers"] == {"kind": "alert", "alert": alert_on_charlies_case.pk, "alert_count": 1,
                                  "alert_ids": [alert_on_charlies_case.pk], "footage_ids":
                                  [alert_on_charlies_case.footage_id],
                                  "case": {"id": alert_on_charlies_case.footage.case_id, "reference": "CASE-1",
                                           "title": "Platform robbery"}}
    # these factory rows carry made-up step records: replaying them must fail, naming the crop
    replayed = verify_package(str(package))
    assert not replayed.ok and f"sightings/sighting-{alert_on_charlies_case.sighting_id}/raw.png" in \
        replayed.failed_subjects()


def test_it_keeps_one_private_signing_key_and_shows_its_fingerprint_to_admins(
        alert_on_charlies_case: Alert, alice: Any, charlie: Any, own_var_dir: Path, client: Any):
    first = evidence_export_case(actor=charlie, case=alert_on_charlies_case.footage.case, alerts="all")
    second = evidence_export_case(actor=charlie, case=alert_on_charlies_case.footage.case, alerts="all")
    key_file = own_var_dir / "evidence_signing_key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    fingerprints = {verify_package(str(r.path), replay=False).manifest["signing_key"]["fingerprint"]
                    for r in (first, second)}
    assert len(fingerprints) == 1
    with zipfile.ZipFile(first.path) as archive:
        assert not any(b"PRIVATE KEY" in archive.read(name) for name in archive.namelist())
    client.force_login(alice)
    page = client.get("/admin/evidence-key/")
    assert page.status_code == 200 and fingerprints.pop().encode() in page.content
    client.force_login(charlie)
    assert client.get("/admin/evidence-key/").status_code == 302  # not staff: the admin's login


def test_it_signs_with_the_key_given_by_setting_and_refuses_one_others_can_read(
        alert_on_charlies_case: Alert, charlie: Any, settings: Any, tmp_path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from evidence.signing import SigningKeyError, fingerprint_of

    key = Ed25519PrivateKey.generate()
    path = tmp_path / "court.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    settings.FACECASE_SIGNING_KEY_FILE = str(path)
    result = evidence_export_case(actor=charlie, case=alert_on_charlies_case.footage.case)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert verify_package(str(result.path), expect_fingerprint=fingerprint_of(raw), replay=False).ok
    path.chmod(0o644)
    with pytest.raises(SigningKeyError, match="readable by others"):
        evidence_export_case(actor=charlie, case=alert_on_charlies_case.footage.case)


def test_it_declares_every_status_of_the_export_endpoints_in_the_schema(alice: Any, client: Any):
    client.force_login(alice)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/cases/{id}/export/", "/api/alerts/{id}/export/"):
        responses = schema["paths"][path]["post"]["responses"]
        assert "application/json" in responses["202"]["content"]
        for status in ("401", "403", "404"):
            assert "application/json" in responses[status]["content"], (path, status)
    assert "400" in schema["paths"]["/api/cases/{id}/export/"]["post"]["responses"]
    download = schema["paths"]["/api/exports/{id}/download/"]["get"]["responses"]
    assert "application/zip" in download["200"]["content"]
    for status in ("401", "403", "404", "409"):
        assert "application/json" in download[status]["content"], status
    assert "200" in schema["paths"]["/api/exports/{id}/"]["get"]["responses"]


def test_it_splits_the_pdf_into_volumes_that_each_read_on_their_own(alice: Any, charlie: Any, charlies_case: Any,
                                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from evidence import report
    from tests.ui_factory import make_alert, make_suspect

    monkeypatch.setattr(report, "VOLUME_ALERTS", 1)  # 100 alerts a volume in production; 1 keeps this test quick
    suspect = make_suspect(alice)
    for track in (1, 2):
        make_alert(charlies_case, charlie, suspect, track_id=track)
    result = evidence_export_case(actor=charlie, case=charlies_case, alerts="all")
    verification = verify_package(str(result.path), replay=False)
    assert verification.ok
    reports = sorted(f["path"] for f in verification.manifest["files"] if f["kind"] == "report")
    assert reports == ["report-2.pdf", "report.html", "report.pdf"]
    with zipfile.ZipFile(result.path) as archive:
        html = archive.read("report.html").decode()
        for name in ("report.pdf", "report-2.pdf"):
            (tmp_path / name).write_bytes(archive.read(name))
    assert html.count('class="alert" id="alert-') == 2
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: `make evidence-tools` installs it")
    texts = [" ".join(subprocess.run(["pdftotext", str(tmp_path / name), "-"], capture_output=True, text=True,
                                     timeout=60).stdout.split()) for name in ("report.pdf", "report-2.pdf")]
    alerts = sorted(Alert.objects.values_list("pk", flat=True))
    for text, shown, other in zip(texts, alerts, reversed(alerts), strict=True):
        assert "Evidence report: CASE-1" in text and "PDF volumes" in text and "Signature and hashes" in text
        assert f"Alert {shown}: possible sighting" in text and f"Alert {other}: possible sighting" not in text


def test_it_offers_the_export_button_only_to_those_who_may_export(alert_on_charlies_case: Alert, bob: Any,
                                                                   charlie: Any, client: Any):
    url = f"/alerts/{alert_on_charlies_case.pk}/"
    client.force_login(charlie)
    assert b'id="alert-export-form"' in client.get(url).content
    client.force_login(bob)
    page = client.get(url)
    assert page.status_code == 200 and b'id="alert-export-form"' not in page.content


def test_it_packs_every_review_decision_including_an_override(alert_on_charlies_case: Alert, alice: Any, charlie: Any):
    from footage.services import alert_dismiss

    alert_dismiss(actor=alice, alert=alert_on_charlies_case, note="the jacket is a different colour", override=True)
    result = evidence_export_case(actor=charlie, case=alert_on_charlies_case.footage.case, alerts="all")
    with zipfile.ZipFile(result.path) as archive:
        review = json.loads(archive.read(f"alerts/alert-{alert_on_charlies_case.pk}/alert.json"))["review"]
        html = archive.read("report.html").decode()
    assert review["decision"] == "dismissed" and review["by"] == "alice"
    assert [(h["to"], h["by"], h["override"]) for h in review["history"]] == [
        ("confirmed", "bob", False), ("dismissed", "alice", True)]
    assert "(changed the earlier decision): “the jacket is a different colour”" in html


def test_it_lets_an_admin_export_a_camera_alert_that_has_no_footage(alice: Any, charlie: Any, client: Any):
    from tests.ui_factory import make_suspect

    alert = Alert.objects.create(suspect=make_suspect(alice), score=0.7, camera_name="Gate 4")
    client.force_login(alice)
    export = run_queued_export(client.post(f"/api/alerts/{alert.pk}/export/", HTTP_ACCEPT="application/json"))
    assert export.status == EvidenceExport.Status.DONE, export.error
    package = Path(AuditEvent.objects.get(verb="export").details["package"])
    from django.conf import settings

    verification = verify_package(str(Path(settings.PRIVATE_MEDIA_ROOT) / package))
    assert verification.ok and verification.manifest["covers"]["case"] is None
    assert not any(f["kind"] == "original" for f in verification.manifest["files"])
    client.force_login(charlie)  # no case to be a member of: only admins export it, others get the usual 404 as JSON
    refused = client.post(f"/api/alerts/{alert.pk}/export/", HTTP_ACCEPT="application/json")
    assert refused.status_code == 404 and refused.json()["detail"]
    assert client.get(f"/api/exports/{export.pk}/").status_code == 404


def test_it_keeps_the_verifier_to_the_standard_library_and_cryptography():
    """Read from its source, so a later import of Django or TensorFlow fails here, not at a recipient's desk. The
    replay module may import FaceCase's own ``enhancement`` (and its cv2/numpy), inside a function, when present."""
    import ast

    allowed = set(sys.stdlib_module_names) | {"cryptography", "facecase_verify", "__future__"}
    optional = {"enhancement", "cv2", "numpy"}
    for path in sorted((REPO_ROOT / "facecase_verify").glob("*.py")):
        tree = ast.parse(path.read_text())
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    root = name.split(".")[0]
                    if root in optional:
                        assert path.name == "replay.py" and id(node) not in top_level, f"{path.name}: {name}"
                    else:
                        assert root in allowed, f"{path.name} imports {name}"


def test_it_reports_an_export_whose_worker_died_as_failed_and_builds_a_queued_one_only_once(
        alert_on_charlies_case: Alert, charlie: Any, client: Any, settings: Any):
    import datetime as dt

    from django.utils import timezone

    client.force_login(charlie)
    first = client.post(f"/api/alerts/{alert_on_charlies_case.pk}/export/")
    second = run_queued_export(client.post(f"/api/alerts/{alert_on_charlies_case.pk}/export/"))
    assert second.status == EvidenceExport.Status.DONE
    assert evidence_export_run(second.pk) == "not queued (already run)"  # a second delivery builds nothing
    assert AuditEvent.objects.filter(verb="export").count() == 1
    # the first one's worker claimed it and was killed: nothing finishes it, the queue's timeout has passed
    started = timezone.now() - dt.timedelta(seconds=settings.TASK_TIMEOUT_S + 120)
    EvidenceExport.objects.filter(pk=first.json()["id"]).update(status="running", started_at=started)
    state = client.get(first.json()["url"]).json()
    assert state["status"] == "failed" and "worker stopped" in state["error"]
    assert client.get(f"/api/exports/{state['id']}/download/").status_code == 409

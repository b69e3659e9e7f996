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

from enhancement.synthetic import astronaut_bgr, make_cctv_clip
from facecase.evidence.build import evidence_export_case
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
    clip = make_cctv_clip(tmp_path / "platform2.mp4", face_px=44).path
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
    assert {"original", "frame", "raw_crop", "enhanced_crop", "track_crop", "record", "report", "audit",
            "suspect_photo", "public_key"} <= kinds
    # the original is the upload, byte for byte, and the verifier replayed the enhancement from the raw crop
    with zipfile.ZipFile(package) as archive:
        original = archive.read(one_of(manifest, "original"))
        alert_record = json.loads(archive.read(f"alerts/alert-{confirmed_alert.pk}/alert.json"))
        trail = [json.loads(line) for line in archive.read("audit/audit_trail.jsonl").splitlines()]
    assert original == Path(confirmed_alert.footage.original.path).read_bytes()
    assert any(f.status == "OK" and "replayed" in f.message for f in verification.findings), report
    assert alert_record["review"]["by"] == "bob" and alert_record["review"]["decision"] == "confirmed"
    assert alert_record["match"]["gallery_sha256"] == confirmed_alert.registry_version.gallery_sha256
    assert alert_record["match"]["threshold"] is not None and alert_record["match"]["embedder"]
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
    response = client.post(f"/cases/{charlies_case.pk}/export/", {"alerts": "all"})
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
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True,
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

"""The checks. Each finding names the package member it is about, so a failed check says which file to look at."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MANIFEST = "manifest.json"
SIGNATURE = "signature"
FORMAT = "facecase-evidence-package/1"
CHUNK = 1024 * 1024


@dataclass
class Finding:
    status: str  # OK, FAIL, SKIP, INFO
    subject: str  # the package member (or "package")
    message: str

    def line(self) -> str:
        return f"{self.status:<4} {self.subject}: {self.message}"


@dataclass
class Verification:
    findings: list[Finding] = field(default_factory=list)
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and self.manifest is not None

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "FAIL"]

    def failed_subjects(self) -> set[str]:
        return {f.subject for f in self.failures}


class _Reporter:
    def __init__(self, result: Verification, out: IO[str] | None) -> None:
        self.result, self.out = result, out

    def __call__(self, status: str, subject: str, message: str) -> None:
        finding = Finding(status, subject, message)
        self.result.findings.append(finding)
        if self.out is not None:
            print(finding.line(), file=self.out, flush=True)


def fingerprint_of(raw_public_key: bytes) -> str:
    return "SHA256:" + hashlib.sha256(raw_public_key).hexdigest()


def _hash_member(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _safe_path(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def _check_signature(archive: zipfile.ZipFile, names: set[str], manifest_bytes: bytes, manifest: dict[str, Any],
                     expect: str | None, report: _Reporter) -> None:
    key_info = manifest.get("signing_key") or {}
    try:
        raw = base64.b64decode(key_info.get("public_key", ""), validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError, TypeError):
        report("FAIL", MANIFEST, "signing_key.public_key is not a base64 Ed25519 public key")
        return
    fingerprint = fingerprint_of(raw)
    if SIGNATURE not in names:
        report("FAIL", SIGNATURE, "missing: the manifest is not signed")
        return
    try:
        signature = base64.b64decode(archive.read(SIGNATURE).strip(), validate=True)
    except (binascii.Error, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        report("FAIL", SIGNATURE, f"unreadable or not base64 ({exc})")
        return
    try:
        public.verify(signature, manifest_bytes)
    except InvalidSignature:
        report("FAIL", SIGNATURE, f"does not verify over {MANIFEST}: {MANIFEST} or {SIGNATURE} was altered, or "
                                  "they were signed by another key")
        return
    report("OK", SIGNATURE, f"Ed25519 signature of {MANIFEST} is valid; key fingerprint {fingerprint}")
    if key_info.get("fingerprint") not in (None, fingerprint):
        report("FAIL", MANIFEST, f"states key fingerprint {key_info.get('fingerprint')} but the key is {fingerprint}")
    if expect:
        if expect.strip() == fingerprint:
            report("OK", "signing key", "is the key you expected")
        else:
            report("FAIL", "signing key", f"is {fingerprint}, not the expected {expect.strip()}: this package was "
                                          "not signed by the installation you named")
    else:
        report("INFO", "signing key", "compare this fingerprint with the one the FaceCase administrator publishes "
                                      "(or pass --fingerprint)")
    key_file = key_info.get("file")
    if key_file and key_file in names:
        try:
            pem_key = serialization.load_pem_public_key(archive.read(key_file))
            pem_raw = pem_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        except (ValueError, TypeError, zipfile.BadZipFile, zlib.error):
            pem_raw = b""
        if pem_raw != raw:
            report("FAIL", key_file, f"is not the public key stated in {MANIFEST}")


def verify_package(path: str, *, expect_fingerprint: str | None = None, replay: bool = True,
                   out: IO[str] | None = None) -> Verification:
    result = Verification()
    report = _Reporter(result, out)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report("FAIL", "package", f"cannot be opened as a zip: {exc}")
        return result
    with archive:
        members = [info.filename for info in archive.infolist()]
        names = set(members)
        for name in sorted({n for n in members if members.count(n) > 1}):
            report("FAIL", name, "appears more than once in the zip")
        if MANIFEST not in names:
            report("FAIL", MANIFEST, "missing: nothing can be checked")
            return result
        try:
            manifest_bytes = archive.read(MANIFEST)
            manifest = json.loads(manifest_bytes)
            files = manifest["files"]
            assert isinstance(files, list)
        except (zipfile.BadZipFile, zlib.error) as exc:
            report("FAIL", MANIFEST, f"unreadable ({exc})")
            return result
        except (ValueError, KeyError, TypeError, AssertionError):
            report("FAIL", MANIFEST, "is not a valid manifest (bad JSON or no file list): it was altered")
            return result
        result.manifest = manifest
        if manifest.get("format") != FORMAT:
            report("FAIL", MANIFEST, f"format {manifest.get('format')!r} is not {FORMAT!r}")
        covers = manifest.get("covers") or {}
        by = manifest.get("exported_by") or {}
        subject = json.dumps(covers.get("case") or covers.get("alert"))
        who = by.get("username") or by.get("os_user") or "?"
        commit = (manifest.get("facecase_version") or {}).get("git_commit", "?")
        report("INFO", "package", f"{covers.get('kind', '?')} export of {subject}, {covers.get('alert_count', '?')} "
                                  f"alert(s), exported {manifest.get('exported_at')} by {who} (FaceCase {commit})")
        _check_signature(archive, names, manifest_bytes, manifest, expect_fingerprint, report)
        listed: dict[str, dict[str, Any]] = {}
        for entry in files:
            name = str(entry.get("path", "")) if isinstance(entry, dict) else ""
            if not _safe_path(name) or name in (MANIFEST, SIGNATURE):
                report("FAIL", name or "?", f"unsafe or reserved path listed in {MANIFEST}")
                continue
            if name in listed:
                report("FAIL", name, f"listed twice in {MANIFEST}")
            listed[name] = entry
        good = 0
        for name, entry in listed.items():
            if name not in names:
                report("FAIL", name, f"listed in {MANIFEST} but missing from the package (removed)")
                continue
            try:
                sha, size = _hash_member(archive, name)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                report("FAIL", name, f"unreadable: the zip data is corrupt ({exc}); it was altered")
                continue
            if sha != entry.get("sha256") or size != entry.get("size"):
                report("FAIL", name, f"SHA-256 {sha} ({size} bytes) differs from {MANIFEST} "
                                     f"({entry.get('sha256')}, {entry.get('size')} bytes): altered")
                continue
            if entry.get("recorded_sha256") not in (None, sha):
                report("FAIL", name, "differs from the SHA-256 FaceCase recorded before the export")
                continue
            good += 1
        report("OK" if good == len(listed) else "FAIL", "files",
               f"{good} of {len(listed)} listed files have the size and SHA-256 in {MANIFEST}")
        for name in sorted(names - set(listed) - {MANIFEST, SIGNATURE}):
            report("FAIL", name, f"present in the package but not listed in {MANIFEST} (added)")
        if replay:
            from facecase_verify.replay import replay_enhancements

            replay_enhancements(archive, listed, report)
    report("OK" if result.ok else "FAIL", "result", "VERIFIED: every check holds" if result.ok else
           f"NOT VERIFIED: {len(result.failures)} problem(s)")
    return result

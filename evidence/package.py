"""Writing an evidence package: a zip streamed to disk, every member hashed as it is written, then signed.

Nothing is held whole in memory: files are copied in 1 MiB chunks into the open zip member while their SHA-256 is
computed, so a multi-gigabyte original costs one buffer. Media that is already compressed (video, PNG, JPEG, PDF)
is stored, text is deflated. ``manifest.json`` lists every other member with its size and SHA-256; ``signature``
holds the Ed25519 signature (base64) of the exact bytes of ``manifest.json``. Those two are the only members the
manifest does not list (it cannot list itself); the verifier accepts nothing else unlisted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from facecase.files import CHUNK

MANIFEST = "manifest.json"
SIGNATURE = "signature"
FORMAT = "facecase-evidence-package/1"
_STORED_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".gif", ".mpg", ".mpeg", ".ts", ".png", ".jpg",
                    ".jpeg", ".pdf", ".zip"}
ZIP64_FROM = 1 << 31  # members this large need zip64 headers written up front


class PackageIntegrityError(Exception):
    """A file's bytes no longer match the SHA-256 recorded for it: the package is not written."""


@dataclass
class Entry:
    path: str
    size: int
    sha256: str
    kind: str
    recorded_sha256: str | None = None  # the digest FaceCase recorded before the export, when there is one

    def to_dict(self) -> dict[str, Any]:
        row = {"path": self.path, "size": self.size, "sha256": self.sha256, "kind": self.kind}
        if self.recorded_sha256 is not None:
            row["recorded_sha256"] = self.recorded_sha256
        return row


def _clean(arcname: str) -> str:
    path = PurePosixPath(arcname)
    if path.is_absolute() or ".." in path.parts or arcname in (MANIFEST, SIGNATURE) or not arcname:
        raise ValueError(f"bad package path {arcname!r}")
    return str(path)


class PackageWriter:
    """``with PackageWriter(path) as pkg: pkg.add_file(...); pkg.add_json(...); pkg.finish(meta, sign)``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, Entry] = {}
        self._zip = zipfile.ZipFile(path, "x", compression=zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True)

    def __enter__(self) -> PackageWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip.fp is not None:
            self._zip.close()

    def has(self, arcname: str) -> bool:
        return arcname in self.entries

    def _member(self, arcname: str, size_hint: int) -> IO[bytes]:
        info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        stored = PurePosixPath(arcname).suffix.lower() in _STORED_SUFFIXES
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        return self._zip.open(info, "w", force_zip64=size_hint >= ZIP64_FROM)

    def add_stream(self, arcname: str, source: IO[bytes], *, kind: str, size_hint: int = 0,
                   expected_sha256: str | None = None) -> Entry:
        arcname = _clean(arcname)
        if arcname in self.entries:
            return self.entries[arcname]
        digest, size = hashlib.sha256(), 0
        with self._member(arcname, size_hint) as out:
            for block in iter(lambda: source.read(CHUNK), b""):
                digest.update(block)
                size += len(block)
                out.write(block)
        sha = digest.hexdigest()
        if expected_sha256 is not None and sha != expected_sha256:
            raise PackageIntegrityError(f"{arcname}: SHA-256 is {sha}, but {expected_sha256} was recorded; "
                                        "refusing to export altered evidence")
        entry = Entry(arcname, size, sha, kind, recorded_sha256=expected_sha256)
        self.entries[arcname] = entry
        return entry

    def add_file(self, arcname: str, source: Path, *, kind: str, expected_sha256: str | None = None) -> Entry:
        with open(source, "rb") as handle:
            return self.add_stream(arcname, handle, kind=kind, size_hint=source.stat().st_size,
                                   expected_sha256=expected_sha256)

    def add_bytes(self, arcname: str, data: bytes, *, kind: str) -> Entry:
        import io

        return self.add_stream(arcname, io.BytesIO(data), kind=kind, size_hint=len(data))

    def add_json(self, arcname: str, data: Any, *, kind: str) -> Entry:
        return self.add_bytes(arcname, dumps(data), kind=kind)

    def finish(self, meta: dict[str, Any], sign: Any) -> bytes:
        """Write ``manifest.json`` (``meta`` + the file list) and ``signature``; returns the manifest bytes."""
        manifest = {"format": FORMAT, **meta, "files": [e.to_dict() for e in self.entries.values()]}
        data = dumps(manifest)
        signature = base64.b64encode(sign(data)) + b"\n"
        for name, payload in ((MANIFEST, data), (SIGNATURE, signature)):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            self._zip.writestr(info, payload, compress_type=zipfile.ZIP_DEFLATED)
        self.close()
        return data


def dumps(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n").encode()

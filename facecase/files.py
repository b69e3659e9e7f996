"""Private files: store uploads with their SHA-256, check what they are by content, re-verify on every read."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.fields.files import FieldFile
from django.utils.text import get_valid_filename

from facecase.uploads import incoming_dir, too_large_message

CHUNK = 1024 * 1024


class IntegrityError(Exception):
    """A stored original no longer matches the SHA-256 recorded at upload: someone changed evidence."""


@dataclass
class StoredFile:
    name: str  # relative to PRIVATE_MEDIA_ROOT
    path: Path
    sha256: str
    size: int
    original_name: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def sha256_of_path(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _safe_name(original_name: str) -> str:
    base = get_valid_filename(Path(original_name or "upload").name) or "upload"
    return base[-120:]


def store_private_upload(upload: Any, *, subdir: str) -> StoredFile:
    """Move (or stream-copy) ``upload`` into private storage under ``subdir`` and return its hash and size.

    Uploads from ``HashingUploadHandler`` are already on disk and hashed: they are moved, not copied.
    Anything else (a file from a management command, a test) is streamed through the same hashing.
    Raises ``ValidationError`` for empty or oversized files, leaving nothing behind.
    """
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    limit = settings.FACECASE_MAX_UPLOAD_BYTES
    original_name = Path(getattr(upload, "name", "") or "upload").name
    given_sha = getattr(upload, "sha256", None)
    temp_path = Path(upload.temporary_file_path()) if given_sha and hasattr(upload, "temporary_file_path") else None
    if temp_path is not None and temp_path.parent == incoming_dir():
        sha256, size, part = given_sha, temp_path.stat().st_size, temp_path
        if hasattr(upload, "close"):
            upload.close()
    else:
        part = incoming_dir() / f"{uuid.uuid4().hex}.part"
        digest, size = hashlib.sha256(), 0
        try:
            with open(part, "xb") as out:
                if hasattr(upload, "seek"):
                    upload.seek(0)
                blocks = upload.chunks(CHUNK) if hasattr(upload, "chunks") else iter(lambda: upload.read(CHUNK), b"")
                for block in blocks:
                    size += len(block)
                    if size > limit:
                        raise ValidationError(too_large_message(limit), code="too_large")
                    digest.update(block)
                    out.write(block)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        sha256 = digest.hexdigest()
    if size == 0:
        part.unlink(missing_ok=True)
        raise ValidationError("file is empty (0 bytes)", code="empty")
    if size > limit:
        part.unlink(missing_ok=True)
        raise ValidationError(too_large_message(limit), code="too_large")
    directory = root / subdir
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{sha256[:12]}-{uuid.uuid4().hex[:8]}-{_safe_name(original_name)}"
    os.replace(part, final)
    os.chmod(final, 0o600)
    return StoredFile(
        name=str(final.relative_to(root)), path=final, sha256=sha256, size=size, original_name=original_name
    )


def check_image(path: str | os.PathLike[str]) -> tuple[int, int, str]:
    """Return (width, height, content type) when Pillow can fully decode the file; else ``ValidationError``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            fmt = image.format or ""
            image.load()  # decode all pixels: a truncated image fails here, not later in the pipeline
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationError(f"not a readable image: {exc}", code="bad_image") from exc
    content_type = Image.MIME.get(fmt, f"image/{fmt.lower() or 'unknown'}")
    return width, height, content_type


def is_still_image(path: str | os.PathLike[str]) -> bool:
    """True for a single-frame image Pillow recognises; animated GIFs and the like are footage to decode."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return getattr(image, "n_frames", 1) == 1
    except (UnidentifiedImageError, OSError):
        return False


_VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".avi": "video/x-msvideo",
                ".mkv": "video/x-matroska", ".webm": "video/webm", ".gif": "image/gif", ".mpg": "video/mpeg",
                ".mpeg": "video/mpeg", ".ts": "video/mp2t"}


def _sniff_video_type(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/x-matroska"
    return "application/octet-stream"


def check_video(path: str | os.PathLike[str]) -> str:
    """Return the content type when OpenCV can open the file and decode one frame; else ``ValidationError``."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValidationError("not a readable video: OpenCV could not open it", code="bad_video")
        ok, frame = capture.read()
        if not ok or frame is None:
            raise ValidationError("not a readable video: no frame could be decoded", code="bad_video")
    finally:
        capture.release()
    return _sniff_video_type(Path(path))


def verify_sha256(path: str | os.PathLike[str], expected: str) -> None:
    actual = sha256_of_path(path)
    if actual != expected:
        raise IntegrityError(f"{path}: SHA-256 is {actual}, expected {expected} recorded at upload; refusing to use it")


@contextmanager
def open_verified(field_file: FieldFile, expected_sha256: str) -> Iterator[IO[bytes]]:
    """Open a stored file for reading after re-checking its SHA-256 (raises ``IntegrityError`` on mismatch)."""
    path = field_file.path
    verify_sha256(path, expected_sha256)
    with open(path, "rb") as handle:
        yield handle


def verified_path(field_file: FieldFile, expected_sha256: str) -> Path:
    """Path of a stored file after re-checking its SHA-256, for readers (OpenCV) that need a path."""
    verify_sha256(field_file.path, expected_sha256)
    return Path(field_file.path)

"""Private files: store uploads with their SHA-256, check what they are by content, re-verify on every read."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import unicodedata
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
logger = logging.getLogger(__name__)


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


ORIGINAL_NAME_MAX = 255  # the ``original_name`` columns


def clean_original_name(name: str | None) -> str:
    """The name an upload is shown under: its last path component (``/`` or ``\\``), without control or
    format characters, at most 255 characters (the suffix kept). The stored file name is ``_safe_name`` of it."""
    base = re.split(r"[/\\]", str(name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if len(base) > ORIGINAL_NAME_MAX:
        stem, dot, suffix = base.rpartition(".")
        suffix = suffix if dot and len(suffix) <= 16 else ""
        base = base[: ORIGINAL_NAME_MAX - len(suffix) - 1].rstrip() + ("." + suffix if suffix else "")
    return base or "upload"


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
    original_name = clean_original_name(getattr(upload, "name", ""))
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


# Haar's smallest face is 24 px: footage narrower than that either way cannot show one (1 x 1, 16 x 20,000).
FOOTAGE_MIN_SIDE = 24
# Time-lapse CCTV may record a frame a minute; a container whose clock says less than one frame per 100 s (an MP4
# whose time scale is 0 reads as a frame every 512 s) or more than 1,000 a second has no usable timing.
MIN_FPS, MAX_FPS = 0.01, 1000.0


def check_image(path: str | os.PathLike[str], *, min_side: int = 1) -> tuple[int, int, str]:
    """Return (upright width, height, content type) when the product's decoder (``enhancement.imageio``) reads
    every pixel of the file within its size limit; else ``ValidationError`` with the reason."""
    from enhancement.imageio import ImageDecodeError, decode_image, inspect_image

    try:
        info = inspect_image(path)
        decode_image(path)  # decode all pixels: a truncated image fails here, not later in the pipeline
    except ImageDecodeError as exc:
        raise ValidationError(str(exc), code="bad_image") from exc
    if min(info.width, info.height) < min_side:
        raise ValidationError(
            f"image is {info.width} x {info.height} pixels: too small to show a face (at least {min_side} x "
            f"{min_side})", code="too_small")
    return info.width, info.height, info.content_type


def is_still_image(path: str | os.PathLike[str]) -> bool:
    """True for a file an image format recognises, unless it is animated (animated GIFs and WebPs are footage to
    decode). A recognised image that is refused (too large, corrupt) counts as a still, so ``check_image`` says why."""
    from enhancement.imageio import ImageDecodeError, UnknownImageFormat, inspect_image

    try:
        return not inspect_image(path).animated
    except UnknownImageFormat:
        return False
    except ImageDecodeError:
        return True


def _sniff_video_type(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm" if b"webm" in head else "video/x-matroska"
    if head[:1] == b"\x47":
        return "video/mp2t"
    if head[:4] == b"\x00\x00\x01\xb3":
        return "video/mpeg"
    if head[:4] == b"\x00\x00\x00\x01":  # an Annex B elementary stream: the first NAL unit says which codec
        if head[4] & 0x1F == 7:
            return "video/h264"  # sequence parameter set
        if (head[4] >> 1) & 0x3F == 32:
            return "video/h265"  # video parameter set
    return "application/octet-stream"


def _check_animation(path: Path) -> None:
    from enhancement.imageio import ImageDecodeError, inspect_image, iter_animation

    try:
        info = inspect_image(path)
        next(iter(iter_animation(path)))
    except (ImageDecodeError, StopIteration) as exc:
        raise ValidationError(f"not a readable animation: {exc}", code="bad_video") from exc
    _check_frame_size(info.width, info.height)


def _check_frame_size(width: float, height: float) -> None:
    from enhancement.imageio import MAX_PIXELS

    if not (math.isfinite(width) and math.isfinite(height)) or width * height > MAX_PIXELS:
        raise ValidationError(
            f"the video declares {width:.0f} x {height:.0f} pixels a frame; the limit is {MAX_PIXELS / 1e6:.0f} "
            "megapixels", code="bad_video")
    if 0 < min(width, height) < FOOTAGE_MIN_SIDE:
        raise ValidationError(
            f"the video is {width:.0f} x {height:.0f} pixels: too small to show a face (at least "
            f"{FOOTAGE_MIN_SIDE} x {FOOTAGE_MIN_SIDE})", code="too_small")


def check_video(path: str | os.PathLike[str]) -> str:
    """Return the content type when the file opens as a video (or animation) of sane dimensions and frame rate and
    one frame decodes; else ``ValidationError`` saying why. Nothing larger than the pixel limit is decoded."""
    import cv2

    from enhancement.imageio import ImageDecodeError, UnknownImageFormat, inspect_image

    path = Path(path)
    try:
        inspect_image(path)
    except UnknownImageFormat:
        pass  # not an image format: a video container, or nothing
    except ImageDecodeError as exc:  # an image format, but refused (a GIF bomb, a broken header)
        raise ValidationError(str(exc), code="bad_video") from exc
    else:
        _check_animation(path)
        return _sniff_video_type(path)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValidationError("not a readable video: OpenCV could not open it", code="bad_video")
        _check_frame_size(capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = capture.get(cv2.CAP_PROP_FPS)
        if not math.isfinite(fps) or not MIN_FPS <= fps <= MAX_FPS:
            raise ValidationError(f"not a usable video: it declares a frame rate of {fps:.3g} frames a second "
                                  f"(usable: {MIN_FPS:g} to {MAX_FPS:g}), so its frames cannot be given true times",
                                  code="bad_video")
        ok, frame = capture.read()
        if not ok or frame is None:
            raise ValidationError("not a readable video: no frame could be decoded", code="bad_video")
        _check_frame_size(frame.shape[1], frame.shape[0])
    finally:
        capture.release()
    return _sniff_video_type(path)


def check_footage(path: str | os.PathLike[str]) -> tuple[str, int | None, int | None, str]:
    """(kind ``"image"``/``"video"``, width, height, content type) of an uploaded footage file, decided by content;
    else ``ValidationError`` with the reason. A decoder failing in a way nobody foresaw is still a refusal that says
    the file could not be read, never a server error."""
    try:
        if is_still_image(path):
            width, height, content_type = check_image(path, min_side=FOOTAGE_MIN_SIDE)
            return "image", width, height, content_type
        return "video", None, None, check_video(path)
    except ValidationError:
        raise
    except Exception as exc:
        logger.exception("footage check of %s failed unexpectedly", path)
        raise ValidationError(f"the file could not be read as an image or a video ({type(exc).__name__})",
                              code="bad_file") from exc


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

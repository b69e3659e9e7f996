"""Upload handler that streams every uploaded file straight into private storage and hashes it on the way.

Nothing is kept in memory and nothing lands in a public folder. Past ``FACECASE_MAX_UPLOAD_BYTES`` the partial
file is deleted and the reason is kept on the request (``upload_errors(request)``) so the view can say why.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest


def incoming_dir() -> Path:
    path = Path(settings.PRIVATE_MEDIA_ROOT) / "incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def too_large_message(limit: int) -> str:
    return f"file is larger than the upload limit of {limit} bytes ({limit / 1024**3:.2f} GiB)"


class HashedUploadedFile(UploadedFile):
    """An upload already on disk in private storage's incoming folder, with its SHA-256."""

    def __init__(self, path: Path, name: str, content_type: str | None, size: int, sha256: str, charset: Any):
        super().__init__(open(path, "rb"), name, content_type, size, charset)
        self._path = path
        self.sha256 = sha256

    def temporary_file_path(self) -> str:
        return str(self._path)

    def close(self) -> None:
        try:
            return self.file.close()
        except FileNotFoundError:
            pass


def upload_errors(request: HttpRequest) -> dict[str, str]:
    """Field name -> reason, for uploads the handler refused."""
    return getattr(request, "_facecase_upload_errors", {})


class HashingUploadHandler(FileUploadHandler):
    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = settings.FACECASE_MAX_UPLOAD_BYTES
        self._path: Path | None = None
        self._handle: Any = None
        self._hash: Any = None
        self._size = 0

    def _reject(self, reason: str) -> None:
        if self.request is not None:
            errors = upload_errors(self.request) or {}
            errors[self.field_name] = reason
            self.request._facecase_upload_errors = errors
        self._cleanup()
        raise SkipFile(reason)

    def _cleanup(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None

    def new_file(self, field_name: str, file_name: str, content_type: str, content_length: int | None,
                 charset: Any = None, content_type_extra: Any = None) -> None:
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        # The whole request body is an upper bound on this file: refuse early when even the file alone cannot fit.
        if content_length is not None and content_length > self.limit:
            self._reject(too_large_message(self.limit))
        self._path = incoming_dir() / f"{uuid.uuid4().hex}.part"
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._handle = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self._size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._size += len(raw_data)
        if self._size > self.limit:
            self._reject(too_large_message(self.limit))
        self._hash.update(raw_data)
        self._handle.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self._handle is None or self._path is None:
            return None
        self._handle.close()
        self._handle = None
        uploaded = HashedUploadedFile(
            self._path, self.file_name, self.content_type, self._size, self._hash.hexdigest(), self.charset
        )
        self._path = None
        return uploaded

    def upload_interrupted(self) -> None:
        self._cleanup()


class DiscardUnstoredUploadsMiddleware:
    """After every request, remove the uploads it received that no service stored (a form, serializer or check
    refused them), so nothing rejected stays in private storage's incoming folder. Stored uploads were already
    moved out of it. Only requests whose body was parsed into files are looked at."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        try:
            return self.get_response(request)
        finally:
            if "_files" in request.__dict__:
                for upload in request.FILES.values():
                    path = Path(upload.temporary_file_path()) if hasattr(upload, "temporary_file_path") else None
                    if path is not None and path.parent == incoming_dir():
                        upload.close()
                        path.unlink(missing_ok=True)

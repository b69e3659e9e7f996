"""Private storage for uploaded and derived media: under ``settings.PRIVATE_MEDIA_ROOT``, no public URL."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    # Read the root on every use (not once at import) so a changed PRIVATE_MEDIA_ROOT is honoured everywhere.
    @property
    def base_location(self) -> str:  # type: ignore[override]
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:  # type: ignore[override]
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> None:  # type: ignore[override]
        return None

    def url(self, name: str | None) -> str:
        # Private files have no public URL; the media view is the only way out.
        raise NotImplementedError("private media is served only by the permission-checked media view")


def private_storage() -> PrivateStorage:
    # A callable (not an instance) keeps migrations stable.
    return PrivateStorage()

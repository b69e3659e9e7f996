"""Private storage for uploaded and derived media: under ``settings.PRIVATE_MEDIA_ROOT``, no public URL."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    def url(self, name: str | None) -> str:
        # Private files have no public URL; the media view is the only way out.
        raise NotImplementedError("private media is served only by the permission-checked media view")


def private_storage() -> PrivateStorage:
    # A callable (not an instance) so migrations stay stable and tests can point PRIVATE_MEDIA_ROOT elsewhere.
    return PrivateStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)

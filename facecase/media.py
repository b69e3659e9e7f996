"""The only way private media leaves the server: a permission-checked view.

``/media/<kind>/<pk>/<field>/`` with kind ``footage`` (original), ``sighting`` (frame, raw_crop,
enhanced_crop), ``suspect-photo`` (image, crop) or ``alert`` (clip: a camera alert's evidence clip). Anyone
who may not see the object gets 404, the same as for an object that does not exist. Files with a recorded
SHA-256 are re-checked on every read.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from facecase.files import IntegrityError, verify_sha256
from facecase.services import audit_record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaKind:
    get_visible: Callable[[Any, int], Model | None]
    fields: dict[str, str | None]  # file field -> field holding its SHA-256 (None: derived, not hashed)
    audit: bool


def _footage(user: Any, pk: int) -> Model | None:
    from footage.selectors import footage_get_for_user

    return footage_get_for_user(user, pk)


def _sighting(user: Any, pk: int) -> Model | None:
    from footage.selectors import sighting_list_for_user

    return sighting_list_for_user(user).filter(pk=pk).first()


def _alert(user: Any, pk: int) -> Model | None:
    from footage.selectors import alert_list_for_user

    return alert_list_for_user(user).filter(pk=pk).first()


def _suspect_photo(user: Any, pk: int) -> Model | None:
    from suspects.models import SuspectPhoto

    if not user.has_perm("suspects.view_suspectphoto"):
        return None
    return SuspectPhoto.objects.filter(pk=pk).first()


MEDIA_KINDS: dict[str, MediaKind] = {
    "footage": MediaKind(_footage, {"original": "sha256"}, audit=True),
    "sighting": MediaKind(
        _sighting, {"frame": None, "raw_crop": "raw_crop_sha256", "enhanced_crop": "enhanced_crop_sha256"}, False
    ),
    "suspect-photo": MediaKind(_suspect_photo, {"image": "sha256", "crop": None}, audit=True),
    "alert": MediaKind(_alert, {"clip": "clip_sha256"}, audit=True),
}

CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"


@require_safe
@login_required
def media(request: HttpRequest, kind: str, pk: int, field: str) -> HttpResponse:
    spec = MEDIA_KINDS.get(kind)
    if spec is None or field not in spec.fields:
        raise Http404("no such media")
    obj = spec.get_visible(request.user, pk)
    file = getattr(obj, field, None) if obj is not None else None
    if not file:
        raise Http404("no such media")
    sha_field = spec.fields[field]
    if sha_field is not None:
        expected = getattr(obj, sha_field)
        try:
            verify_sha256(file.path, expected)
        except IntegrityError as exc:
            logger.error("integrity check failed for %s %s %s: %s", kind, pk, field, exc)
            audit_record(
                actor=request.user, verb="integrity_failure", obj=obj, details={"field": field, "error": str(exc)}
            )
            return HttpResponse(
                "Integrity check failed: this file no longer matches the SHA-256 recorded at upload. "
                "It was not served; the event is in the audit log.",
                status=409, content_type="text/plain",
            )
        except FileNotFoundError as exc:
            raise Http404("file missing from storage") from exc
    if spec.audit:
        audit_record(actor=request.user, verb="download", obj=obj, details={"field": field})
    content_type = getattr(obj, "content_type", "") or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    response = FileResponse(open(file.path, "rb"), content_type=content_type)  # FileResponse closes it
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP
    response["Cache-Control"] = "private, no-store"
    return response

"""The only way private media leaves the server: a permission-checked view, and the response headers every
private file is served with (``private_file_response``, also used by the footage pages' frame and crop views).

``/media/<kind>/<pk>/<field>/``: the kinds are registered by the apps that own them (``facecase.extensions``):
``footage`` (original), ``sighting`` (frame, raw_crop, enhanced_crop) by ``footage``, ``suspect-photo`` (image,
crop) by ``suspects``. Anyone who may not see the object gets 404, the same as for an object that does not exist.
Files with a recorded SHA-256 are re-checked on every read.
"""

from __future__ import annotations

import logging
import mimetypes

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from facecase.extensions import media_kind
from facecase.files import IntegrityError, verify_sha256
from facecase.services import audit_record

logger = logging.getLogger(__name__)


CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"


def private_file_response(path: str, content_type: str) -> FileResponse:
    """A private file for one user: no sniffing, no scripts, never cached by a shared cache."""
    response = FileResponse(open(path, "rb"), content_type=content_type)  # FileResponse closes it
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
@login_required
def media(request: HttpRequest, kind: str, pk: int, field: str) -> HttpResponse:
    spec = media_kind(kind)
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
    return private_file_response(file.path, content_type)

"""Refuse an oversized upload before its body is read.

Django's ASGI handler spools the whole request body to a temporary file before any view or upload handler
runs, so without this a 50 GiB POST would fill the disk before ``HashingUploadHandler`` could say no. A
request whose declared Content-Length is past the limit (plus room for multipart framing) gets 413 at once;
bodies without a length are still bounded by the upload handler while they stream.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

MULTIPART_OVERHEAD = 1024 * 1024


class RequestSizeLimit:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers") or []).get(b"content-length")
            limit = settings.FACECASE_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
            if length is not None and length.isdigit() and int(length) > limit:
                message = (f"Request refused: {int(length)} bytes is more than the upload limit of "
                           f"{settings.FACECASE_MAX_UPLOAD_BYTES} bytes.")
                if scope.get("path", "").startswith("/api/"):  # the API answers JSON, errors included
                    body, content_type = json.dumps({"detail": message}).encode(), b"application/json"
                else:
                    body, content_type = f"{message}\n".encode(), b"text/plain; charset=utf-8"
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", content_type),
                                        (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

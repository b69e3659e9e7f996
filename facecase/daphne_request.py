"""Daphne serves HTTP through Twisted's ``http.Request``, which by default parses every multipart/form-data POST
body itself (into ``request.args``, which daphne never uses) before the ASGI application sees it: the whole body
read into memory and copied by the ``email`` parser, and a body it cannot parse answered with a bare HTML 400
that Django never sees. Django parses uploads itself (streamed to disk by ``facecase.uploads``), so Twisted's
parsing is switched off here; ``facecase.asgi`` applies it when daphne imports the application.
"""

from __future__ import annotations

from typing import Any


def stop_twisted_form_parsing() -> None:
    from daphne.http_protocol import WebRequest

    if getattr(WebRequest, "_facecase_no_form_parsing", False):
        return
    original_init = WebRequest.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original_init(self, *args, **kwargs)

    WebRequest.__init__ = __init__
    WebRequest._facecase_no_form_parsing = True

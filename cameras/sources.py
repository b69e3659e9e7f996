"""Camera source URLs: what kind of source each is, and how it is shown (credentials masked, always).

A camera's URL may carry credentials (``rtsp://user:secret@host/stream``, or a ``token=`` query parameter). They are
stored, because the reader needs them, but every page, API answer and log line shows :func:`mask_url`'s form."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
SECRET_PARAMS = re.compile(r"(pass|pwd|token|key|secret|auth|sig)", re.IGNORECASE)
SCHEMES = ("rtsp", "rtsps", "http", "https")


def source_kind(url: str) -> str:
    """``rtsp``, ``http`` (MJPEG over HTTP/S), ``device`` (``/dev/videoN``) or ``file`` (a video played in a loop)."""
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("rtsp", "rtsps"):
        return "rtsp"
    if scheme in ("http", "https"):
        return "http"
    if url.startswith("/dev/video") or url.isdigit():
        return "device"
    return "file"


def mask_url(url: str) -> str:
    """The URL with any user name/password and secret-looking query values replaced by ``***``."""
    url = (url or "").strip()
    if source_kind(url) not in ("rtsp", "http"):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        query = urlencode([(k, MASK if SECRET_PARAMS.search(k) else v) for k, v in parse_qsl(query, True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_text(text: str, url: str) -> str:
    """``text`` (an error message, a log line) with the secrets of ``url`` removed wherever they appear."""
    if not text:
        return text
    text = text.replace(url, mask_url(url)) if url else text
    parts = urlsplit(url) if source_kind(url) in ("rtsp", "http") else None
    secrets = []
    if parts is not None:
        if parts.password:
            secrets.append(parts.password)
        if parts.username:
            secrets.append(parts.username)
        secrets += [v for k, v in parse_qsl(parts.query, True) if SECRET_PARAMS.search(k) and v]
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, MASK)
    return text

"""How the other apps plug into the core app's pages, so that the core app never imports them.

``facecase`` (cases, members, notes, audit, media) is the bottom Django layer: ``footage`` and ``suspects`` import
it, never the reverse (an import-linter contract in ``pyproject.toml``; the URL configuration is the one exception).
Where a core page shows their objects, each app registers from its ``AppConfig.ready``:

- ``register_media(kind, MediaKind(...))``: how ``/media/<kind>/<pk>/<field>/`` finds an object the user may see,
  which file fields it serves and which field holds each file's SHA-256;
- ``register_page_context(page, provider)``: extra template context for a core page, ``provider(request, **page
  arguments) -> dict``. Pages: ``home`` (no arguments), ``case_detail`` (``case``), ``alert_detail`` (``alert``; the
  page lives in ``footage``, which also sits below ``evidence``), ``header`` (no arguments; the base template's
  counters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from django.http import HttpRequest

PAGES = ("home", "case_detail", "alert_detail", "header")


@dataclass(frozen=True)
class MediaKind:
    get_visible: Callable[[Any, int], Model | None]  # (user, pk) -> the object, or None when they may not see it
    fields: dict[str, str | None]  # file field -> field holding its SHA-256 (None: derived, not hashed)
    audit: bool  # record a "download" audit event for each read


_MEDIA: dict[str, MediaKind] = {}
_PAGE_CONTEXT: dict[str, list[Callable[..., dict[str, Any]]]] = {page: [] for page in PAGES}


def register_media(kind: str, spec: MediaKind) -> None:
    _MEDIA[kind] = spec


def media_kind(kind: str) -> MediaKind | None:
    return _MEDIA.get(kind)


def register_page_context(page: str, provider: Callable[..., dict[str, Any]]) -> None:
    if page not in _PAGE_CONTEXT:
        raise ValueError(f"unknown page {page!r}; pages: {', '.join(PAGES)}")
    if provider not in _PAGE_CONTEXT[page]:
        _PAGE_CONTEXT[page].append(provider)


def page_context(page: str, request: HttpRequest, **arguments: Any) -> dict[str, Any]:
    """Every registered provider's context for ``page``, merged in registration order."""
    context: dict[str, Any] = {}
    for provider in _PAGE_CONTEXT[page]:
        context.update(provider(request, **arguments))
    return context

"""Small helpers shared by the page views: role checks, pagination and JSON-or-HTML answers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse

from facecase.roles import has_role

PAGE_SIZE = 50


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Login, then at least one of ``roles`` (superusers count as admins); anyone else gets 403."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied(f"this page is for: {', '.join(roles)}")
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorate


def paginate(request: HttpRequest, queryset: Any, per_page: int = PAGE_SIZE) -> Page:
    """One page of ``queryset``; a page number out of range gives the last page rather than an error.

    The page is found on primary keys alone (sorting and skipping narrow rows, no joins), then only its rows are
    loaded with their related objects: a deep page of 10,000 joined alerts stays as fast as the first one.
    """
    page = Paginator(queryset.values_list("pk", flat=True), per_page).get_page(request.GET.get("page"))
    ids = list(page.object_list)
    rows = queryset.model._default_manager.none() if not ids else queryset.order_by().in_bulk(ids)
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


def day_start(day: Any) -> Any:
    """Midnight (in the site's time zone) opening ``day`` (a date or YYYY-MM-DD), for index-friendly date filters:
    ``created_at >= day_start(from)`` and ``created_at < day_start(to + 1 day)`` instead of a per-row date cast."""
    import datetime

    from django.utils import timezone

    if isinstance(day, str):
        day = datetime.date.fromisoformat(day)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def day_end(day: Any) -> Any:
    import datetime

    if isinstance(day, str):
        day = datetime.date.fromisoformat(day)
    return day_start(day + datetime.timedelta(days=1))


def query_without_page(request: HttpRequest) -> str:
    """The current filters as a query string, for pagination links that keep them."""
    params = [(key, value) for key, values in request.GET.lists() if key != "page" for value in values if value]
    return urlencode(params)


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")

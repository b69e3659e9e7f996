"""Template helpers for the pages: the header's count of new alerts and a few formatting filters."""

from __future__ import annotations

from typing import Any

from django import template

from facecase.extensions import page_context
from facecase.roles import is_admin, is_operator

register = template.Library()


@register.simple_tag(takes_context=True)
def new_alert_count(context: dict[str, Any]) -> int | None:
    """Alerts waiting for review, for operators and admins only (None hides the counter)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not (is_operator(user) or is_admin(user)):
        return None
    return page_context("header", request).get("new_alert_count")


@register.filter
def percent(value: Any) -> str:
    """A similarity score in [0, 1] as a whole percentage."""
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def as_json(value: Any) -> str:
    """Audit details as compact JSON (what the CSV export holds too), not Python's repr."""
    import json

    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def track_length(sighting: Any) -> str:
    """How long a face track lasted: frames and seconds."""
    frames = sighting.last_frame - sighting.first_frame + 1
    seconds = max(0.0, sighting.last_ts - sighting.first_ts)
    return f"{frames} frame{'s' if frames != 1 else ''}, {seconds:.1f} s"

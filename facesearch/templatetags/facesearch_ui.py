"""Template pieces the face-search app adds to other apps' pages (one line in their templates)."""

from __future__ import annotations

from typing import Any

from django import template

from facesearch.selectors import attachments_for_case

register = template.Library()


@register.inclusion_tag("search/_case_attachments.html", takes_context=True)
def case_attachments(context: dict[str, Any], case: Any) -> dict[str, Any]:
    """The sightings attached to ``case`` from other footage ("add to case" on a search result)."""
    return {"case": case, "attachments": attachments_for_case(context["request"].user, case)}

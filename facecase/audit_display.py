"""The audit log as people read it: each event's object by name with a link, and its details as one short line.
Objects are looked up by their ``object_type`` label through the app registry (one query per type on a page), so
the core app names no other app's models; the link names below are page URL names."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.apps import apps
from django.urls import NoReverseMatch, reverse

# object_type -> (URL name, attribute holding the pk to link to)
_LINKS = {
    "facecase.case": ("case-detail", "pk"),
    "footage.footage": ("footage-detail", "pk"),
    "footage.sighting": ("sighting-detail", "pk"),
    "footage.alert": ("alert-detail", "pk"),
    "suspects.suspect": ("suspect-detail", "pk"),
    "suspects.suspectphoto": ("suspect-detail", "suspect_id"),
}
_TYPE_NAMES = {"suspects.registry": "registry", "auth.user": "user"}
_DETAIL_MAX = 160


def object_type_name(object_type: str) -> str:
    """``suspects.suspectphoto`` -> "suspect photo" (the model's verbose name), for filters and rows."""
    if object_type in _TYPE_NAMES:
        return _TYPE_NAMES[object_type]
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type or "—"


def _label(object_type: str, obj: Any) -> str:
    if object_type == "auth.user":
        return obj.get_username()
    if object_type == "suspects.suspectphoto":
        return f"photo {obj.pk} of {getattr(obj.suspect, 'name', '?')}"
    if object_type == "footage.alert":
        return f"alert {obj.pk} ({getattr(obj.suspect, 'name', '?')})"
    if object_type == "footage.sighting":
        return f"sighting {obj.pk} in {getattr(obj.footage, 'original_name', '?')}"
    if object_type == "suspects.suspect":
        return obj.name
    if object_type == "footage.footage":
        return obj.original_name
    if object_type == "facecase.case":
        return obj.reference
    return str(obj)


def _value(value: Any) -> str:
    if isinstance(value, dict):
        kept = [(k, v) for k, v in value.items() if v not in ("", None, [], {})]
        shown = ", ".join(f"{str(k).replace('_', ' ')} {_value(v)}" for k, v in kept[:4])
        return "(" + shown + (", …)" if len(kept) > 4 else ")")
    if isinstance(value, (list, tuple)):
        shown = ", ".join(_value(v) for v in value[:6])
        return f"{shown}{', …' if len(value) > 6 else ''}"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def details_line(details: Any) -> str:
    """``{"from": "new", "to": "confirmed", "note": "…"}`` -> "from new → confirmed · note: …"."""
    if not isinstance(details, dict) or not details:
        return ""
    parts = []
    data = dict(details)
    if "from" in data and "to" in data:
        parts.append(f"{_value(data.pop('from'))} → {_value(data.pop('to'))}")
    for key, value in data.items():
        if value in ("", None, [], {}):
            continue
        parts.append(f"{key.replace('_', ' ')}: {_value(value)}")
    line = " · ".join(parts)
    return line if len(line) <= _DETAIL_MAX else line[:_DETAIL_MAX - 1] + "…"


def describe_events(events: Any) -> list[dict[str, Any]]:
    """Rows for the audit page: the event, its object's label and link (when it still exists), its details line."""
    events = list(events)
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if str(event.object_id).isdigit():
            wanted[event.object_type].add(int(event.object_id))
    found: dict[str, dict[int, Any]] = {}
    for object_type, ids in wanted.items():
        try:
            model = apps.get_model(object_type)
        except (LookupError, ValueError):
            continue
        related = [name for name in ("suspect", "footage") if any(f.name == name for f in model._meta.fields)]
        found[object_type] = model.objects.select_related(*related).in_bulk(ids)
    rows = []
    for event in events:
        obj = found.get(event.object_type, {}).get(int(event.object_id)) if str(event.object_id).isdigit() else None
        url = None
        if obj is not None and event.object_type in _LINKS:
            name, attribute = _LINKS[event.object_type]
            try:
                url = reverse(name, args=[getattr(obj, attribute)])
            except NoReverseMatch:
                url = None
        if obj is not None:
            label = _label(event.object_type, obj)
        elif event.object_id:
            label = f"{object_type_name(event.object_type)} {event.object_id}"
        else:
            label = object_type_name(event.object_type)
        rows.append({"event": event, "type_name": object_type_name(event.object_type), "label": label, "url": url,
                     "details_line": details_line(event.details)})
    return rows

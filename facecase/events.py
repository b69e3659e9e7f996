"""Push events from any process (web or worker) to browsers through the Channels layer.

Groups (see docs/ARCHITECTURE.md): ``operators``, ``case-<id>``, ``user-<id>``. The browser receives
``{"type": event_type, "payload": payload}``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

OPERATORS_GROUP = "operators"
CASE_GROUP_PREFIX = "case-"
USER_GROUP_PREFIX = "user-"


def case_group(case_id: int) -> str:
    return f"{CASE_GROUP_PREFIX}{case_id}"


def user_group(user_id: int) -> str:
    return f"{USER_GROUP_PREFIX}{user_id}"


def publish(group: str, event_type: str, payload: dict[str, Any]) -> None:
    """Send one event to a group. A push that fails is logged, never raised: the database row is the truth
    and pages reload it, so a Redis hiccup must not fail the job that produced the event. The message names its
    group and carries an id so that the consumer checks, once per event, that its users may still see that group."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {
            "type": "facecase.event", "group": group, "event_id": uuid.uuid4().hex, "event_type": event_type,
            "payload": payload,
        })
    except Exception:
        logger.exception("could not publish %s to %s", event_type, group)

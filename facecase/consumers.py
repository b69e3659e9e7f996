"""WebSocket at /ws/events/: authenticated users only, joined to the groups their roles allow."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from facecase.events import OPERATORS_GROUP, case_group, user_group
from facecase.roles import is_admin, is_operator
from facecase.selectors import case_ids_for_user

# Close code for "not logged in" (4000-4999 is free for applications).
CLOSE_UNAUTHENTICATED = 4401


def groups_for_user(user: Any) -> list[str]:
    groups = [user_group(user.pk)]
    if is_operator(user) or is_admin(user):
        groups.append(OPERATORS_GROUP)
    groups.extend(case_group(case_id) for case_id in case_ids_for_user(user))
    return groups


class EventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.joined = await database_sync_to_async(groups_for_user)(user)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "payload": {"groups": self.joined}})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Read-only channel: the browser only listens.
        return None

    async def facecase_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": message["event_type"], "payload": message["payload"]})

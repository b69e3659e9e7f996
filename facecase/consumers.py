"""WebSocket at /ws/events/: authenticated users only, joined to the groups their roles allow, and re-checked for
every event: a user removed from a case, stripped of a role or deactivated stops receiving at the next event,
without reconnecting."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model

from facecase.events import CASE_GROUP_PREFIX, OPERATORS_GROUP, USER_GROUP_PREFIX, case_group, user_group
from facecase.roles import is_admin, is_operator
from facecase.selectors import case_ids_for_user, case_list_for_user

# Close codes (4000-4999 is free for applications): not logged in, and the account was deactivated meanwhile.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_DEACTIVATED = 4403


def groups_for_user(user: Any) -> list[str]:
    groups = [user_group(user.pk)]
    if is_operator(user) or is_admin(user):
        groups.append(OPERATORS_GROUP)
    groups.extend(case_group(case_id) for case_id in case_ids_for_user(user))
    return groups


def may_receive(user_id: int, group: str) -> bool | None:
    """Whether the user may still receive an event of ``group``, read fresh from the database (roles and
    memberships change while a socket stays open). ``None``: the account is gone or deactivated."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    if group == OPERATORS_GROUP:
        return is_operator(user) or is_admin(user)
    if group.startswith(CASE_GROUP_PREFIX):
        case_id = group.removeprefix(CASE_GROUP_PREFIX)
        return case_id.isdigit() and case_list_for_user(user).filter(pk=int(case_id)).exists()
    if group.startswith(USER_GROUP_PREFIX):
        return group == user_group(user.pk)
    return False


class EventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.joined = await database_sync_to_async(groups_for_user)(user)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "payload": {"groups": self.joined}})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = []

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Read-only channel: the browser only listens.
        return None

    async def facecase_event(self, message: dict[str, Any]) -> None:
        group = message.get("group", "")
        if group not in self.joined:
            return  # left this group since (a discard races with messages already queued for us)
        allowed = await database_sync_to_async(may_receive)(self.user_id, group)
        if allowed is None:
            await self.disconnect(CLOSE_DEACTIVATED)
            await self.close(code=CLOSE_DEACTIVATED)
            return
        if not allowed:
            self.joined.remove(group)
            await self.channel_layer.group_discard(group, self.channel_name)
            return
        await self.send_json({"type": message["event_type"], "payload": message["payload"]})

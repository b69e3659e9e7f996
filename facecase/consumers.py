"""WebSocket at /ws/events/: authenticated users only, joined to the groups their roles allow, and re-checked for
every event: a user removed from a case, stripped of a role or deactivated stops receiving at the next event,
without reconnecting.

The check is made once per event for all the sockets of this process (``EventRights``): the first socket to handle
an event asks the database which of this process's users in that group may still see it, the others use that
answer. 200 operator sockets cost one query per alert, not 200."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter, OrderedDict
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import DatabaseError

from facecase.events import OPERATORS_GROUP, case_group, user_group
from facecase.roles import is_admin, is_operator
from facecase.selectors import case_ids_for_user, event_recipients

logger = logging.getLogger(__name__)

# Close codes (4000-4999 is free for applications): not logged in, and the account was deactivated meanwhile.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_DEACTIVATED = 4403
ALLOWED, DENIED, DEACTIVATED, UNKNOWN = "allowed", "denied", "deactivated", "unknown"


def groups_for_user(user: Any) -> list[str]:
    groups = [user_group(user.pk)]
    if is_operator(user) or is_admin(user):
        groups.append(OPERATORS_GROUP)
    groups.extend(case_group(case_id) for case_id in case_ids_for_user(user))
    return groups


class EventRights:
    """Per process: which users have sockets in which group, and, per event, who of them may receive it."""

    KEEP_EVENTS = 512  # answers kept for sockets that handle an event late (their buffer was behind)

    def __init__(self) -> None:
        self.members: dict[str, Counter[int]] = {}
        self.answers: OrderedDict[str, asyncio.Future[tuple[set[int], set[int], set[int]]]] = OrderedDict()

    def join(self, group: str, user_id: int) -> None:
        self.members.setdefault(group, Counter())[user_id] += 1

    def leave(self, group: str, user_id: int) -> None:
        users = self.members.get(group)
        if users is not None:
            users[user_id] -= 1
            if users[user_id] <= 0:
                del users[user_id]
            if not users:
                del self.members[group]

    async def verdict(self, event_id: str, group: str, user_id: int) -> str:
        key = f"{event_id or uuid.uuid4().hex}|{group}"  # an event without an id shares no answer
        answer = self.answers.get(key)
        if answer is None:
            answer = asyncio.get_running_loop().create_future()
            self.answers[key] = answer
            while len(self.answers) > self.KEEP_EVENTS:
                self.answers.popitem(last=False)
            asked = set(self.members.get(group, ())) | {user_id}
            answer.set_result(await self._ask(group, asked))
        allowed, inactive, asked = await asyncio.shield(answer)
        if user_id not in asked:  # joined after this event's answer: ask for this user alone
            allowed, inactive, asked = await self._ask(group, {user_id})
        if user_id in inactive:
            return DEACTIVATED
        if allowed is None:
            return UNKNOWN
        return ALLOWED if user_id in allowed else DENIED

    async def _ask(self, group: str, user_ids: set[int]) -> tuple[set[int] | None, set[int], set[int]]:
        try:
            allowed, inactive = await database_sync_to_async(event_recipients)(group, user_ids)
        except DatabaseError as exc:
            # Rights cannot be read: this event goes to nobody (fail closed); the sockets stay open for the next.
            logger.warning("live channel: cannot check rights for %s (%s); event not forwarded", group, exc)
            return None, set(), user_ids
        return allowed, inactive, user_ids


RIGHTS = EventRights()


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
            RIGHTS.join(group, self.user_id)
        await self.accept()
        await self.send_json({"type": "hello", "payload": {"groups": self.joined}})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            RIGHTS.leave(group, self.user_id)
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = []

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Read-only channel: the browser only listens.
        return None

    async def facecase_event(self, message: dict[str, Any]) -> None:
        group = message.get("group", "")
        if group not in self.joined:
            return  # left this group since (a discard races with messages already queued for us)
        verdict = await RIGHTS.verdict(message.get("event_id", ""), group, self.user_id)
        if verdict == DEACTIVATED:
            await self.disconnect(CLOSE_DEACTIVATED)
            await self.close(code=CLOSE_DEACTIVATED)
            return
        if verdict == UNKNOWN:
            return
        if verdict == DENIED:
            self.joined.remove(group)
            RIGHTS.leave(group, self.user_id)
            await self.channel_layer.group_discard(group, self.channel_name)
            return
        await self.send_json({"type": message["event_type"], "payload": message["payload"]})

"""Every event an open socket forwards is checked against the user's current rights: removal from a case, loss of
the operator role or deactivation take effect at the next event, without the browser reconnecting."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from test_platform_events import connected, socket_for

from facecase.consumers import CLOSE_DEACTIVATED
from facecase.events import OPERATORS_GROUP, case_group, publish
from facecase.services import case_member_add, case_member_remove


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_it_stops_case_events_for_a_member_removed_from_the_case(charlie: Any, dave: Any, charlies_case: Any):
    await sync_to_async(case_member_add)(actor=charlie, case=charlies_case, user=dave)
    as_charlie, as_dave = await connected(charlie), await connected(dave)
    group = case_group(charlies_case.pk)
    try:
        await sync_to_async(publish)(group, "footage.progress", {"footage_id": 1, "progress": 5})
        assert (await as_dave.receive_json_from(timeout=10))["payload"]["progress"] == 5
        assert (await as_charlie.receive_json_from(timeout=10))["payload"]["progress"] == 5

        await sync_to_async(case_member_remove)(actor=charlie, case=charlies_case, user=dave)
        await sync_to_async(publish)(group, "footage.progress", {"footage_id": 1, "progress": 6})
        assert (await as_charlie.receive_json_from(timeout=10))["payload"]["progress"] == 6
        assert await as_dave.receive_nothing(timeout=1)
        await sync_to_async(publish)(group, "footage.progress", {"footage_id": 1, "progress": 7})
        assert (await as_charlie.receive_json_from(timeout=10))["payload"]["progress"] == 7
        assert await as_dave.receive_nothing(timeout=1)
    finally:
        await as_charlie.disconnect()
        await as_dave.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_it_stops_alerts_for_an_operator_whose_role_was_removed(alice: Any, bob: Any):
    as_bob, as_alice = await connected(bob), await connected(alice)
    try:
        await sync_to_async(publish)(OPERATORS_GROUP, "alert.created", {"id": 1})
        assert (await as_bob.receive_json_from(timeout=10))["payload"] == {"id": 1}
        assert (await as_alice.receive_json_from(timeout=10))["payload"] == {"id": 1}

        await sync_to_async(bob.groups.remove)(await sync_to_async(Group.objects.get)(name="operator"))
        await sync_to_async(publish)(OPERATORS_GROUP, "alert.created", {"id": 2})
        assert (await as_alice.receive_json_from(timeout=10))["payload"] == {"id": 2}
        assert await as_bob.receive_nothing(timeout=1)
    finally:
        await as_bob.disconnect()
        await as_alice.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_it_closes_the_socket_of_a_deactivated_user_at_the_next_event(bob: Any):
    as_bob = await connected(bob)
    bob.is_active = False
    await sync_to_async(bob.save)(update_fields=["is_active"])
    await sync_to_async(publish)(OPERATORS_GROUP, "alert.created", {"id": 3})
    closing = await as_bob.receive_output(timeout=10)
    assert closing == {"type": "websocket.close", "code": CLOSE_DEACTIVATED}
    await as_bob.wait(timeout=5)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_it_refuses_a_socket_from_a_foreign_origin(bob: Any):
    from channels.testing import WebsocketCommunicator
    from test_platform_events import session_cookie

    from facecase.asgi import application

    cookie = await sync_to_async(session_cookie)(bob)
    socket = WebsocketCommunicator(application, "/ws/events/",
                                   headers=[(b"origin", b"http://evil.example"), (b"cookie", cookie)])
    accepted, _ = await socket.connect(timeout=10)
    assert not accepted
    ours = await socket_for(bob)
    accepted, _ = await ours.connect(timeout=10)
    assert accepted
    await ours.disconnect()


@pytest.mark.django_db
def test_it_answers_who_may_receive_a_case_event_as_the_case_pages_do(
        alice: Any, bob: Any, charlie: Any, dave: Any, mallory: Any, charlies_case: Any):
    from facecase.selectors import event_recipients

    everyone = {alice.pk, bob.pk, charlie.pk, dave.pk, mallory.pk}
    group = case_group(charlies_case.pk)
    assert event_recipients(group, everyone) == ({alice.pk, charlie.pk}, set())
    case_member_add(actor=charlie, case=charlies_case, user=dave)
    assert event_recipients(group, everyone)[0] == {alice.pk, charlie.pk, dave.pk}
    assert event_recipients(OPERATORS_GROUP, everyone)[0] == {alice.pk, bob.pk}
    assert event_recipients(f"user-{bob.pk}", {bob.pk, dave.pk})[0] == {bob.pk}
    assert event_recipients(case_group(charlies_case.pk + 1000), everyone)[0] == set()
    charlie.is_active = False
    charlie.save(update_fields=["is_active"])
    assert event_recipients(group, everyone) == ({alice.pk, dave.pk}, {charlie.pk})

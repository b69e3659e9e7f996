"""Live push: an event published by another process (as the worker does) reaches the browsers allowed to see
it, through the Redis channel layer and the /ws/events/ consumer. Anonymous sockets are refused."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from conftest import REPO_ROOT
from django.test import Client

from facecase.asgi import application
from facecase.consumers import CLOSE_UNAUTHENTICATED

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def socket_for(user: Any | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver")]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(session_cookie)(user)))
    return WebsocketCommunicator(application, "/ws/events/", headers=headers)


async def publish_from_another_process(env: dict[str, str], group: str, event_type: str, payload: str) -> None:
    script = (
        "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'facecase.settings'); django.setup(); "
        "from facecase.events import publish; "
        f"publish({group!r}, {event_type!r}, {payload})"
    )
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]


async def connected(user: Any) -> WebsocketCommunicator:
    socket = await socket_for(user)
    accepted, _ = await socket.connect(timeout=10)
    assert accepted
    hello = await socket.receive_json_from(timeout=10)
    assert hello["type"] == "hello"
    return socket


async def test_it_delivers_a_worker_event_to_the_case_analyst_only(
    worker_env: dict[str, str], charlie: Any, dave: Any, charlies_case: Any
):
    as_charlie, as_dave = await connected(charlie), await connected(dave)
    try:
        await publish_from_another_process(
            worker_env, f"case-{charlies_case.pk}", "footage.progress", "{'footage_id': 7, 'progress': 42}"
        )
        event = await as_charlie.receive_json_from(timeout=20)
        assert event == {"type": "footage.progress", "payload": {"footage_id": 7, "progress": 42}}
        assert await as_dave.receive_nothing(timeout=1)
    finally:
        await as_charlie.disconnect()
        await as_dave.disconnect()


async def test_it_delivers_alerts_to_operators(worker_env: dict[str, str], bob: Any, charlie: Any):
    as_bob, as_charlie = await connected(bob), await connected(charlie)
    try:
        await publish_from_another_process(worker_env, "operators", "alert.created", "{'id': 3, 'score': 0.9}")
        event = await as_bob.receive_json_from(timeout=20)
        assert event == {"type": "alert.created", "payload": {"id": 3, "score": 0.9}}
        assert await as_charlie.receive_nothing(timeout=1)
    finally:
        await as_bob.disconnect()
        await as_charlie.disconnect()


async def test_it_refuses_an_anonymous_socket(queue_env: dict[str, str]):
    socket = await socket_for(None)
    accepted, code = await socket.connect(timeout=10)
    assert not accepted
    assert code == CLOSE_UNAUTHENTICATED

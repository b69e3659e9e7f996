"""The Channels layer for the live channel: ``channels_redis`` with a connection pool sized for many sockets.

Two failures seen under load with the stock layer (200 operator sockets, docs/reliability.md):

- ``MaxConnectionsError: Too many connections``: redis-py's pool refuses the 101st concurrent command, and 200
  sockets opening at once each borrow a connection for their ``group_add`` calls. Here the pool is a
  ``BlockingConnectionPool`` of ``max_connections`` (``FACECASE_WS_REDIS_CONNECTIONS``): when all are busy a caller
  waits for one instead of failing.
- ``Timeout reading from ...redis.sock``: the layer blocks in ``BZPOPMIN`` for 5 s and redis-py's default socket
  timeout is also 5 s, so the client gave up just as Redis answered "nothing yet", and the socket holding the
  receive lock died with the exception. The socket timeout here stays well above the blocking pop.

A receive that finds Redis gone (restarted) waits and tries again instead of killing every socket in turn: the
sockets stay open and carry on once Redis answers (events published during the outage are lost; pages reload the
truth from the database).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Seconds a command waits for a free pooled connection before it fails.
POOL_WAIT_S = 20.0
RECONNECT_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)


class PooledRedisChannelLayer(RedisChannelLayer):
    def create_pool(self, index: int) -> aioredis.BlockingConnectionPool:
        host = dict(self.hosts[index])
        address = host.pop("address")
        host.setdefault("max_connections", 200)
        host.setdefault("timeout", POOL_WAIT_S)
        host.setdefault("socket_timeout", self.brpop_timeout + 25)
        host.setdefault("socket_connect_timeout", 5)
        host.setdefault("health_check_interval", 30)
        return aioredis.BlockingConnectionPool.from_url(address, **host)

    async def receive_single(self, channel: str) -> Any:
        attempt = 0
        while True:
            try:
                result = await super().receive_single(channel)
            except (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError) as exc:
                if attempt == 0:
                    logger.warning("live channel: Redis unreachable (%s); retrying", exc)
                await asyncio.sleep(RECONNECT_BACKOFF_S[min(attempt, len(RECONNECT_BACKOFF_S) - 1)])
                attempt += 1
                continue
            if attempt:
                logger.warning("live channel: Redis reachable again after %d retries", attempt)
            return result

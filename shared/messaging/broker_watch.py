"""Noticing that the broker lost its state, so a service reconnects by itself.

The embedded broker keeps everything in memory: a new one at the same address starts
without topics, groups or offsets. The clients of the old one do not notice: the
producer publishes into topics the new broker never lists, every offset commit fails,
and a consumer's position from the old log reads nothing of the new one. So once a
service consumes, this watch lists the broker's topics every second; when a topic the
service reads is missing, the broker was replaced and the runtime reconnects from
scratch (subscribers recreate their topics and join from the new broker's offsets, the
producer takes fresh metadata). Events the old broker held but nobody consumed are
gone with it: `python -m tools.replay_outbox` brings them back from the outboxes.

With real Kafka a topic a service reads is never missing, so the watch never acts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

import structlog
from aiokafka.admin import AIOKafkaAdminClient

log = structlog.get_logger(__name__)

WATCH_SECONDS = 1.0
LIST_TIMEOUT_SECONDS = 3.0

ListTopics = Callable[[], Awaitable[set[str]]]


class AdminTopics:
    """The broker's topic names through one admin connection, remade after a failure."""

    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._admin: AIOKafkaAdminClient | None = None

    async def __call__(self) -> set[str]:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-watch"
            )
            await admin.start()
            self._admin = admin
        try:
            return set(await self._admin.list_topics())
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except Exception as error:  # a broken connection closes badly; it is gone
                log.debug("broker_watch_close_failed", error=repr(error))


async def watch_broker(
    service: str,
    read_topics: Iterable[str],
    list_topics: ListTopics,
    reconnect: Callable[[], Awaitable[None]],
    interval: float = WATCH_SECONDS,
) -> None:
    """Forever: when the broker answers without a topic the service reads, `reconnect`.
    A broker that does not answer (down, restarting) decides nothing: the clients retry
    on their own, and the next answer tells whether it came back empty."""
    wanted = set(read_topics)
    while True:
        await asyncio.sleep(interval)
        try:
            listed = await asyncio.wait_for(list_topics(), LIST_TIMEOUT_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.debug("broker_watch_no_answer", service=service, error=repr(error))
            continue
        missing = sorted(wanted - listed)
        if missing:
            log.warning("broker_lost_its_topics", service=service, missing=missing)
            await reconnect()
            log.info("broker_reconnected", service=service)

"""Everything a service runs besides HTTP: store, broker, consumers, outbox relay.

Built in the composition root (no I/O); `start()` in the HTTP lifespan connects, retrying
(tenacity) while the broker is not up yet: `make run` starts everything at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Union

import structlog
from faststream.kafka import KafkaBroker
from pydantic import Field
from tenacity import AsyncRetrying, RetryCallState, wait_exponential

from shared.clock import Clock
from shared.events.envelope import Event
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka import publish_function
from shared.messaging.relay import OutboxRelay
from shared.store.port import OutboxMessage, Store

log = structlog.get_logger(__name__)

# Between connection attempts: 0.1 s, 0.2 s, 0.4 s ... at most 5 s, until the broker is up.
CONNECT_WAIT = wait_exponential(multiplier=0.1, max=5.0)


class ServiceRuntime:
    def __init__(
        self,
        *,
        name: str,
        store: Store,
        broker: KafkaBroker,
        clock: Clock,
        consumers: Iterable[EventConsumer] = (),
        publishes: Iterable[type[Event]] = (),
        fetch_max_wait_ms: int = 500,
        retention: timedelta = timedelta(days=30),
    ) -> None:
        self.name = name
        self.store = store
        self.broker = broker
        self.clock = clock
        self.consumers = list(consumers)
        self.ready = False
        self._publish = publish_function(broker)
        for consumer in self.consumers:
            consumer.subscribe(broker, self.dead_letter, fetch_max_wait_ms=fetch_max_wait_ms)
        _declare_publications(broker, publishes)
        self.relay = OutboxRelay(store, self._publish_outbox, clock)
        self._retention = retention
        self._housekeeping: asyncio.Task[None] | None = None

    async def _publish_outbox(self, message: OutboxMessage) -> None:
        await self._publish(message.topic, message.payload, message.headers, message.key)

    async def dead_letter(self, topic: str, payload: bytes, headers: dict[str, str]) -> None:
        await self._publish(topic, payload, headers)

    async def start(self) -> None:
        await self.store.open()
        async for attempt in AsyncRetrying(
            wait=CONNECT_WAIT, before_sleep=self._before_reconnect, reraise=True
        ):
            with attempt:
                await self.broker.start()
        self.relay.start()
        self._housekeeping = asyncio.create_task(self._purge_hourly(), name="store-purge")
        self.ready = True
        log.info("service_started", service=self.name)

    async def _before_reconnect(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "broker_connect_retry",
            service=self.name,
            attempt=state.attempt_number,
            error=repr(error),
            retry_in=state.upcoming_sleep,
        )
        await self.broker.stop()  # drop the half-made connection before the next try

    async def _purge_hourly(self) -> None:
        """Keep the outbox and inbox bounded: forget what is older than the retention."""
        while True:
            try:
                removed = await self.store.purge(self.clock.system_now() - self._retention)
                if removed:
                    log.info("store_purged", service=self.name, rows=removed)
            except Exception:  # housekeeping must never take the service down
                log.exception("store_purge_failed", service=self.name)
            await asyncio.sleep(3600)

    async def stop(self) -> None:
        self.ready = False
        if self._housekeeping:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.relay.stop()
        await self.broker.stop()
        await self.store.close()


def _declare_publications(broker: KafkaBroker, events: Iterable[type[Event]]) -> None:
    """Declare each produced topic with its event schemas, for the AsyncAPI document."""
    by_topic: dict[str, list[type[Event]]] = defaultdict(list)
    for event in events:
        by_topic[event.TOPIC].append(event)
    for topic, types in by_topic.items():
        schema = (
            types[0]
            if len(types) == 1
            else Annotated[Union[tuple(types)], Field(discriminator="type")]  # noqa: UP007
        )
        broker.publisher(
            topic,
            schema=schema,
            title=topic,
            description="Publishes " + ", ".join(t.model_fields["type"].default for t in types),
        )

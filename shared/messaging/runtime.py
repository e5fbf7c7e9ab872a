"""Everything a service runs besides HTTP: store, broker, consumers, outbox relay.

Built in the composition root (no I/O). The HTTP lifespan `open()`s the store and lets
HTTP serve at once; `start_in_background()` then connects the broker (retrying with
backoff, tenacity, for as long as it takes: `make run` starts everything at once, and a
broker may be down), starts the outbox relay as soon as the producer is connected, joins
the consumer groups, and only then runs the "once consuming" hooks (due work).
Meanwhile a request that only writes to the store and the outbox is served: its events
wait in the outbox until the relay can publish them. `readiness()` says which phase
it is in; it is "ready" only while every consumer group has been joined: a member
holds its share of the partitions, which is none for a replica standing by when a
service runs more replicas than its topics have partitions.

`stop()` (the lifespan's shutdown, after SIGTERM) is bounded: readiness turns 503, the
consumers stop taking events while the ones in flight finish (their transaction and
offset commit), due work finishes its pass, the relay publishes what it can, then the
broker and the store are closed. One log line, `service_stopped`, says whether every
step finished in its time (`clean`) and how many outbox rows were left for the next start.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from typing import Annotated, Any, Union

import structlog
from faststream.kafka import KafkaBroker
from pydantic import Field
from tenacity import AsyncRetrying, RetryCallState, wait_exponential

from shared.clock import Clock
from shared.events.envelope import Event
from shared.events.topics import dead_letter_topic
from shared.messaging.broker_watch import ForgottenBy, watch_broker
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka import publish_function
from shared.messaging.relay import OutboxRelay
from shared.messaging.topic_admin import TopicAdmin
from shared.observability.outbox import observe_outbox
from shared.store.port import OutboxMessage, Store

log = structlog.get_logger(__name__)

Hook = Callable[[], Awaitable[None]]

# Between connection attempts: 0.1 s, 0.2 s, 0.4 s ... at most 5 s, until the broker is up.
CONNECT_WAIT = wait_exponential(multiplier=0.1, max=5.0)

# SIGTERM -> exit 0 within SHUTDOWN_SECONDS: uvicorn first lets in-flight HTTP requests
# finish (HTTP_GRACE_SECONDS), then the lifespan stops the runtime in the rest.
SHUTDOWN_SECONDS = 10.0
HTTP_GRACE_SECONDS = 2  # whole seconds: uvicorn takes an int
RUNTIME_STOP_SECONDS = SHUTDOWN_SECONDS - HTTP_GRACE_SECONDS
# In-flight event handlers and a due-work pass in progress: FastStream's graceful
# timeout (the broker is built with it). One still running then is cancelled before its
# commit; its event is redelivered and its due command found due again on the next start.
HANDLER_GRACE_SECONDS = 4.0
# Kept back from the outbox drain for closing the broker and the store.
CLOSE_RESERVE_SECONDS = 1.5
DRAIN_POLL_SECONDS = 0.05


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
        topic_admin: TopicAdmin | None = None,
        partitions: int = 1,
    ) -> None:
        """`topic_admin` creates the topics this service reads and writes with
        `partitions` each before its consumers join, and lets the runtime notice a
        broker that came back empty and reconnect by itself (broker_watch)."""
        self.name = name
        self.store = store
        self.broker = broker
        self.clock = clock
        self.consumers = list(consumers)
        self._publish = publish_function(broker)
        for consumer in self.consumers:
            consumer.subscribe(broker, self.dead_letter, fetch_max_wait_ms=fetch_max_wait_ms)
        _declare_publications(broker, publishes)
        # Counted (events produced) and watched (outbox gauges) for /metrics.
        self.relay = OutboxRelay(
            store, observe_outbox(name, store, clock, self._publish_outbox), clock
        )
        self._retention = retention
        self._housekeeping: asyncio.Task[None] | None = None
        self._topic_admin = topic_admin
        self._partitions = partitions
        self._topics = sorted(
            {event.TOPIC for event in publishes}
            | {consumer.topic for consumer in self.consumers}
            | {dead_letter_topic(consumer.topic) for consumer in self.consumers}
        )
        self._watch: asyncio.Task[None] | None = None
        self._coming_up: asyncio.Task[None] | None = None
        self._relay_started = False
        self._phase = "created"  # created, connecting, joining, consuming, stopping, stopped
        self._broker_connected = False
        self._connect_attempts = 0
        self._last_error: str | None = None
        self._consuming = asyncio.Event()

    async def _publish_outbox(self, message: OutboxMessage) -> None:
        await self._publish(message.topic, message.payload, message.headers, message.key)

    async def dead_letter(self, topic: str, payload: bytes, headers: dict[str, str]) -> None:
        await self._publish(topic, payload, headers)

    # -- coming up ---------------------------------------------------------------------

    async def open(self) -> None:
        """The store: after this, requests can be served (HTTP needs nothing else)."""
        await self.store.open()
        self._phase = "connecting"

    def start_in_background(self, on_consuming: Sequence[Hook] = ()) -> None:
        """Connect, relay, consume, then `on_consuming`, in a task of its own."""
        self._coming_up = asyncio.create_task(
            self._come_up(on_consuming), name=f"{self.name}-come-up"
        )

    async def start(self) -> None:
        """Open, connect and join, all awaited (tests that drive the runtime themselves)."""
        await self.open()
        await self._come_up(())

    async def wait_consuming(self) -> None:
        await self._consuming.wait()

    async def _come_up(self, on_consuming: Sequence[Hook]) -> None:
        started = asyncio.get_running_loop().time()
        async for attempt in AsyncRetrying(
            wait=CONNECT_WAIT, before_sleep=self._before_reconnect, reraise=True
        ):
            with attempt:
                await self._connect_and_join()
        self._phase = "consuming"
        self._housekeeping = asyncio.create_task(self._purge_hourly(), name="store-purge")
        if self._topic_admin is not None and self.consumers:
            forgotten = ForgottenBy(
                {consumer.topic for consumer in self.consumers},
                self._topic_admin,
                self._group_members,
            )
            self._watch = asyncio.create_task(
                watch_broker(self.name, forgotten, self._reconnect),
                name=f"{self.name}-broker-watch",
            )
        for hook in on_consuming:
            try:
                await hook()
            except Exception:  # due work not starting must not stop the consumers
                log.exception("service_start_hook_failed", service=self.name)
        self._consuming.set()
        log.info(
            "service_started",
            service=self.name,
            seconds=round(asyncio.get_running_loop().time() - started, 2),
        )

    async def _connect_and_join(self) -> None:
        self._phase = "connecting"
        self._connect_attempts += 1
        await self.broker.connect()  # the producer: the relay can publish from now on
        self._broker_connected = True
        self._last_error = None
        if not self._relay_started:
            self.relay.start()
            self._relay_started = True
        log.info("broker_connected", service=self.name, attempt=self._connect_attempts)
        if self._topic_admin is not None:  # before joining: a group sees every partition
            await self._topic_admin.ensure(self._topics, self._partitions)
        self._phase = "joining"
        # Every group at once: each waits for its assignment (the coordinator's join
        # round, and after a crash the dead member's session), so one after the other
        # would add those waits up. A failure cancels the others (TaskGroup).
        try:
            async with asyncio.TaskGroup() as group:
                for subscriber in self.broker.subscribers:
                    group.create_task(subscriber.start())
        except ExceptionGroup as failed:  # retried like a failed connect: say what failed
            raise failed.exceptions[0] from failed
        for publisher in self.broker.publishers:  # what KafkaBroker.start() does after
            await publisher.start()
        self.broker.running = True

    async def _reconnect(self) -> None:
        """From scratch, as at start: the broker we knew is gone (broker_watch)."""
        self._phase = "connecting"
        self._broker_connected = False
        try:
            await self.broker.stop()
        except Exception as error:  # the old connections are dead anyway
            log.warning("broker_stop_failed", service=self.name, error=repr(error))
        async for attempt in AsyncRetrying(
            wait=CONNECT_WAIT, before_sleep=self._before_reconnect, reraise=True
        ):
            with attempt:
                await self._connect_and_join()
        self._phase = "consuming"

    async def _before_reconnect(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        self._last_error = type(error).__name__ if error is not None else None
        log.warning(
            "broker_connect_retry",
            service=self.name,
            attempt=state.attempt_number,
            error=repr(error),
            retry_in=state.upcoming_sleep,
        )
        self._broker_connected = False
        try:
            await self.broker.stop()  # drop the half-made connection before the next try
        except Exception as stop_error:  # the next attempt starts from scratch anyway
            log.warning("broker_stop_failed", service=self.name, error=repr(stop_error))

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

    def _group_members(self) -> dict[str, str]:
        """Each group this process consumes in -> its member id there ("" while none)."""
        return {
            subscriber.group_id: _member_id(subscriber.consumer)
            for subscriber in self.broker.subscribers
            if subscriber.consumer is not None
        }

    # -- readiness ---------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.readiness()[0]

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """(consuming?, what /readyz shows): consuming means the broker is connected and
        this process is a member of every consumer group with its assignment received
        (possibly empty: a replica standing by)."""
        groups = [_assignment(subscriber) for subscriber in self.broker.subscribers]
        if self._phase in ("stopping", "stopped"):
            return False, {"status": self._phase}
        assigned = all(group["joined"] for group in groups)
        if self._phase == "consuming" and assigned:
            # Stopped partitions are shown, not counted against readiness: a restart does
            # not fix a handler that keeps failing (shared.messaging.consumer).
            events = [consumer.status() for consumer in self.consumers]
            return True, {"status": "ready", "consumers": groups, "events": events}
        phase = "rebalancing" if self._phase == "consuming" else self._phase
        details: dict[str, Any] = {
            "status": "starting",
            "phase": phase,
            "brokerConnected": self._broker_connected,
            "connectAttempts": self._connect_attempts,
            "consumers": groups,
        }
        if self._last_error:
            details["lastError"] = self._last_error
        return False, details

    # -- stopping ----------------------------------------------------------------------

    async def stop(self, on_stop: Sequence[Hook] = ()) -> None:
        """Bounded by RUNTIME_STOP_SECONDS; `on_stop` (due work) runs while the consumers
        stop. A step that overruns its time is abandoned and the next one still runs."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        deadline = began + RUNTIME_STOP_SECONDS
        self._phase = "stopping"
        log.info("service_stopping", service=self.name)
        overran: list[str] = []

        async def step(what: str, until: float, *works: Awaitable[Any]) -> None:
            """Run `works` together until `until`; note (and log) a step that overran or
            failed, and go on with the next one."""
            try:
                async with asyncio.timeout_at(until):
                    outcomes = await asyncio.gather(*works, return_exceptions=True)
            except TimeoutError:
                overran.append(what)
                log.warning("service_stop_step_timed_out", service=self.name, step=what)
                return
            # A client library may let a CancelledError of its own escape its close
            # (aiokafka's fetcher does when the broker is gone): a failure, not ours.
            failures = [o for o in outcomes if isinstance(o, BaseException)]
            if failures:
                overran.append(what)
                log.warning(
                    "service_stop_step_failed",
                    service=self.name,
                    step=what,
                    errors=[repr(failure) for failure in failures],
                )

        if self._coming_up is not None:  # still connecting or joining: give up on it
            await step("coming up", loop.time() + 1.0, _cancelled(self._coming_up))
        if self._watch is not None:  # a reconnect in progress is abandoned with it
            await step("broker watch", loop.time() + 1.0, _cancelled(self._watch))
        if self._topic_admin is not None:  # its admin connection
            await step("topic admin close", loop.time() + 1.0, self._topic_admin.close())
        self._consuming.clear()
        # No new event is taken; the ones in flight finish (FastStream waits for them up
        # to its graceful timeout), then each consumer leaves its group. Due work
        # finishes its pass meanwhile.
        await step(
            "consumers and due work",
            min(deadline - CLOSE_RESERVE_SECONDS, loop.time() + HANDLER_GRACE_SECONDS + 1.0),
            *(subscriber.stop() for subscriber in self.broker.subscribers),
            *(hook() for hook in on_stop),
        )
        if self._housekeeping is not None:
            await step("housekeeping", loop.time() + 0.5, _cancelled(self._housekeeping))
        if self._broker_connected:  # what the handlers and the last requests wrote
            await step("outbox drain", deadline - CLOSE_RESERVE_SECONDS, self._drained())
        await step("relay", loop.time() + 0.5, self.relay.stop())
        await step("broker close", deadline, self.broker.stop())
        unsent = await self._unsent()
        await step("store close", max(deadline, loop.time() + 0.5), self.store.close())
        self._phase = "stopped"
        log.info(
            "service_stopped",
            service=self.name,
            clean=not overran,
            overran=overran,
            outbox_unsent=unsent,
            seconds=round(loop.time() - began, 2),
        )

    async def _drained(self) -> None:
        """Until the running relay has published every row (it wakes on each commit)."""
        while True:  # polled: the store tells of commits, not of rows marked sent
            if not await self.store.pending_outbox():
                return
            await asyncio.sleep(DRAIN_POLL_SECONDS)

    async def _unsent(self) -> int | None:
        try:
            return await asyncio.wait_for(self.store.pending_outbox(), 0.5)
        except Exception:
            return None


async def _cancelled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    await asyncio.wait([task])  # its own cancellation (or failure) is not ours
    if not task.cancelled() and task.exception() is not None:
        log.warning("service_come_up_failed", error=repr(task.exception()))


def _assignment(subscriber: Any) -> dict[str, Any]:
    """One consumer group as /readyz shows it: whether this member has joined it (its
    assignment received and no rebalance under way) and the partitions it holds now."""
    consumer = subscriber.consumer  # the aiokafka consumer once the subscriber started
    partitions = sorted(tp.partition for tp in consumer.assignment()) if consumer else []
    return {
        "group": subscriber.group_id,
        "topics": list(subscriber.topic_names),
        "joined": _joined(consumer),
        "partitions": partitions,
    }


def _member_id(consumer: Any) -> str:
    """The id the group coordinator gave this consumer ("" before a join): aiokafka
    keeps it on its coordinator and tells it nowhere public (pinned below 0.15)."""
    coordinator = getattr(consumer, "_coordinator", None)
    return str(getattr(coordinator, "member_id", "") or "")


def _joined(consumer: Any) -> bool:
    """aiokafka tells no "joined" publicly, and an empty assignment() cannot tell a
    member standing by from one still joining; its subscription state can (aiokafka is
    pinned below 0.15; tests/integration/shared/test_standby_replica.py holds it)."""
    subscription = getattr(consumer, "_subscription", None) if consumer else None
    if subscription is None:
        return False
    return bool(consumer.assignment()) or not subscription.reassignment_in_progress


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

"""Idempotent consumer: each wire event becomes a command for the service's message
bus, which runs it with the inbox row in one transaction (inbox + state + outbox).

`EventConsumer.handle` is Kafka-free so it is unit-testable; `subscribe` binds it
to a FastStream subscriber that commits the offset only after `handle` returned
(AckPolicy.NACK_ON_ERROR).

Outcomes of one delivery:
- known type, new id   -> handler runs; inbox row, state and outbox commit together
- known type, seen id  -> skipped (redelivery)
- a type this consumer does not handle (or a newer producer's) -> skipped, counted
- undecodable: not JSON, not an envelope, a payload its event's schema refuses, or
  facts no command can be made of (the translation raises ValueError, e.g. a price its
  currency cannot hold) -> published at once to `<topic>.dlq` with the original
  headers, the error and where it was (`shared.messaging.dead_letters`); the offset
  moves on. Only these: no code change of the handler can ever make them readable.
  `python -m tools.dead_letters` lists and replays them.
- anything else the handler (or the translation) raises: a broken rule, NotFound, a
  state error, a bug, a stored document that no longer validates, the store or the
  network down -> never dead-lettered. `max_attempts` quick tries in place, then
  `PartitionStalled`: the offset is not committed, the partition stops (no later event
  of it is handled, so each key keeps its order) and the event is tried again after
  a growing pause (`stall_backoff`), for as long as it fails, each round a warning.
  Other partitions of this consumer, and the other consumers, go on. When it finally
  succeeds (the cause went away, or a fix was deployed and the service restarted) the
  partition flows again. `stalled` / `status()` show what is stuck and since when.

How a partition stops while the others flow (`subscribe`): FastStream's default Kafka
subscriber is one aiokafka consumer read by one task (`getone()` in a loop), so its
partitions are handled one message at a time; sleeping in the handler between tries
would stop every partition of the group member, and raising for an immediate
redelivery would spin. Per-partition workers would mean replacing FastStream's
subscriber (its acknowledgement, AsyncAPI and lifecycle) with a hand-made consumer.
Instead the handler uses aiokafka's own flow control: on `PartitionStalled` it
`pause()`s that partition (the fetcher stops fetching it and drops what it had
fetched) and raises FastStream's `NackMessage`, which seeks the partition back to the
failing offset without logging an error; a timer `resume()`s it after the backoff and
the same event is fetched again. Meanwhile the loop goes on with the other partitions.
Their commits (`commit()` of the consumed positions) cannot move the stalled one past
its event: its position is the failing offset. On a rebalance the timers and stalls of
revoked partitions are forgotten; whoever gets the partition starts at its committed
offset, the failing event, and stalls again if it still fails.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from shared.events.envelope import Event
from shared.events.registry import EventRegistry, UnknownEventType
from shared.events.topics import dead_letter_topic
from shared.messaging.dead_letters import dead_letter_headers
from shared.messaging.stalls import (
    Origin,
    PartitionStalled,
    ResumeTimers,
    Stall,
    StallBackoff,
)
from shared.observability import metrics
from shared.service_layer.messagebus import (
    ALREADY_HANDLED,
    Command,
    InboxEntry,
    MessageBus,
)
from shared.service_layer.unit_of_work import Cause

SESSION_TIMEOUT_MS = 6000
log = structlog.get_logger(__name__)

Translate = Callable[[Any], Command]  # a wire event -> the command it asks of this service
DeadLetter = Callable[[str, bytes, dict[str, str]], Awaitable[None]]

# Infrastructure, not the event: named "infrastructure" in a stall, to tell the cases apart.
TransientFailure = (OSError, TimeoutError, sqlite3.OperationalError)


@dataclass(frozen=True)
class ConsumerGroup:
    """A service's declaration of one consumer group: what it reads and what each
    wire type it handles asks of the service. The assembly binds it to the bus."""

    name: str  # the consumer group id and the inbox key
    topic: str
    commands: Mapping[type[Event], Translate]

    def consumer(self, bus: MessageBus, dead_letter: DeadLetter | None = None) -> EventConsumer:
        """`dead_letter` is bound by the runtime when it subscribes; tests pass their own."""
        return EventConsumer(
            name=self.name,
            topic=self.topic,
            bus=bus,
            commands=self.commands,
            dead_letter=dead_letter,
        )


class EventConsumer:
    """`commands` maps each wire type this consumer handles to the command it becomes."""

    def __init__(
        self,
        *,
        name: str,
        topic: str,
        bus: MessageBus,
        commands: Mapping[type[Event], Translate],
        dead_letter: DeadLetter | None = None,
        service: str | None = None,
        max_attempts: int = 3,
        first_backoff_seconds: float = 0.1,
        stall_backoff: StallBackoff = StallBackoff(),  # frozen: one default shared safely
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.name = name  # also the consumer group id and the inbox key
        self.topic = topic
        # The metrics' service label: group names read `<service>.<purpose>`.
        self.service = service or name.partition(".")[0]
        self._bus = bus
        self._commands = dict(commands)
        self._registry = EventRegistry(*commands)
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff_seconds
        self._stall_backoff = stall_backoff
        self._now = now
        # handled, duplicate, skipped, dead_lettered: one per delivery; stalled: one per
        # delivery that ended in a pause; retries: one per failed handler attempt.
        self.stats: Counter[str] = Counter()
        self.stalled: dict[int, Stall] = {}  # partition -> what it is stopped at
        self._timers = ResumeTimers()

    @property
    def handled_types(self) -> frozenset[type[Event]]:
        return frozenset(self._commands)

    def status(self) -> dict[str, Any]:
        """JSON-able, for a readiness or metrics endpoint."""
        return {
            "consumer": self.name,
            "topic": self.topic,
            "stalled": [self.stalled[p].as_json() for p in sorted(self.stalled)],
            "counts": {
                name: self.stats[name]
                for name in ("handled", "duplicate", "skipped", "dead_lettered", "stalled")
            }
            | {"retries": self.stats["retries"]},
        }

    async def handle(
        self,
        raw: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        origin: Origin = Origin(),  # frozen: one default shared safely
    ) -> str:
        """Process one delivery; returns the outcome name (also counted in `stats`), or
        raises `PartitionStalled` when the event cannot be handled now."""
        with structlog.contextvars.bound_contextvars(
            consumer=self.name, topic=self.topic, partition=origin.partition, offset=origin.offset
        ):
            try:
                outcome = await self._handle(raw, dict(headers or {}), origin)
            except PartitionStalled:
                self.stats["stalled"] += 1
                raise
            self.stats[outcome] += 1
            self._flowing(origin.partition)
        return outcome

    async def _handle(self, raw: bytes, headers: dict[str, str], origin: Origin) -> str:
        try:
            event = self._registry.decode(raw)
        except UnknownEventType as unknown:
            log.debug(  # routine: most consumers see types they do not handle
                "event_skipped",
                type=unknown.event_type,
                reason="type not handled by this consumer",
            )
            metrics.event_skipped(self.service, self.name, unknown.event_type)
            return "skipped"
        except ValueError as undecodable:  # bad JSON or schema: ValidationError is a ValueError
            return await self._to_dead_letter(raw, headers, undecodable, origin)

        # Bound for everything the handler logs, not just our own lines.
        with structlog.contextvars.bound_contextvars(
            event_type=event.type,
            event_id=str(event.id),
            subscription_id=event.subject,
            correlation_id=event.correlation_id,
            **({"causation_id": event.causation_id} if event.causation_id else {}),
        ):
            try:
                command = self._commands[type(event)](event)
            except ValueError as unreadable:  # facts no command can be made of
                return await self._to_dead_letter(raw, headers, unreadable, origin, event)
            except Exception as error:  # a bug in the translation: fixable, so wait for it
                raise self._stall(origin, event, error, attempts=1) from error
            return await self._handle_command(event, command, origin)

    async def _handle_command(self, event: Event, command: Command, origin: Origin) -> str:
        cause = Cause(correlation_id=event.correlation_id, causation_id=str(event.id))
        inbox = InboxEntry(self.name, str(event.id))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_exponential(multiplier=self._first_backoff, max=5.0),
            # Only failures: a cancellation (a stopping service) ends the work at once.
            retry=retry_if_exception_type(Exception),
            before_sleep=self._log_retry,
            reraise=True,
        )
        started = time.perf_counter()
        try:
            async for attempt in retrying:
                with attempt:
                    result = await self._bus.handle(command, cause=cause, inbox=inbox)
        except Exception as error:
            attempts = retrying.statistics.get("attempt_number", self._max_attempts)
            raise self._stall(origin, event, error, attempts=attempts) from error
        if result is ALREADY_HANDLED:
            metrics.event_duplicate(self.service, self.name, event.type)
            log.info("event_duplicate_skipped")
            return "duplicate"
        metrics.event_consumed(self.service, self.name, event.type, time.perf_counter() - started)
        log.info("event_handled")
        return "handled"

    def _log_retry(self, state: RetryCallState) -> None:
        self.stats["retries"] += 1
        error = state.outcome.exception() if state.outcome else None
        log.warning(  # consumer, topic, partition, offset, event id and type are bound
            "event_handler_retrying",
            attempt=state.attempt_number,
            retry_in=state.upcoming_sleep,
            error=repr(error),
        )

    def _stall(
        self, origin: Origin, event: Event | None, error: BaseException, *, attempts: int
    ) -> PartitionStalled:
        """Record that `origin.partition` stops at this event; the error to raise."""
        event_id = str(event.id) if event is not None else None
        now = self._now()
        stall = self.stalled.get(origin.partition)
        if stall is None or (stall.offset, stall.event_id) != (origin.offset, event_id):
            stall = Stall(
                partition=origin.partition,
                offset=origin.offset,
                event_id=event_id,
                event_type=event.type if event is not None else None,
                subject=event.subject if event is not None else origin.key,
                since=now,
            )
            self.stalled[origin.partition] = stall
        stall.attempts += attempts
        stall.rounds += 1
        stall.cause = "infrastructure" if isinstance(error, TransientFailure) else "handler"
        stall.last_error = f"{type(error).__name__}: {error}"[:2000]
        retry_in = self._stall_backoff.after(stall.rounds)
        stall.retry_at = now + timedelta(seconds=retry_in)
        self.stats["retries"] += 1  # the round's last attempt is retried after the pause
        metrics.event_stalled(self.service, self.name, stall.event_type, stall.cause)
        log.warning(
            "event_handler_failing_partition_stopped",
            consumer=self.name,
            topic=self.topic,
            partition=origin.partition,
            offset=origin.offset,
            event_id=stall.event_id,
            event_type=stall.event_type,
            error=stall.last_error,
            cause=stall.cause,
            attempts=stall.attempts,
            stalled_since=stall.since.isoformat(),
            retry_in=retry_in,
            exc_info=error if stall.rounds == 1 else None,  # the traceback once
        )
        return PartitionStalled(self.name, stall, retry_in, error)

    def _flowing(self, partition: int) -> None:
        """A delivery on `partition` completed: if it was stalled, it flows again."""
        stall = self.stalled.pop(partition, None)
        if stall is not None:
            log.info(
                "partition_resumed",
                consumer=self.name,
                topic=self.topic,
                partition=partition,
                offset=stall.offset,
                event_id=stall.event_id,
                event_type=stall.event_type,
                attempts=stall.attempts,
                stalled_seconds=round((self._now() - stall.since).total_seconds(), 3),
            )

    def forget(self, partition: int) -> None:
        """The partition went to another member (a rebalance): nothing to show or resume."""
        self._timers.cancel(partition)
        self.stalled.pop(partition, None)

    async def _to_dead_letter(
        self,
        raw: bytes,
        headers: dict[str, str],
        error: BaseException,
        origin: Origin,
        event: Event | None = None,
    ) -> str:
        dlq_headers = dead_letter_headers(
            headers,
            error,
            topic=self.topic,
            consumer=self.name,
            partition=origin.partition if origin.offset is not None else None,
            offset=origin.offset,
            key=origin.key,
        )
        assert self._dead_letter is not None, "subscribe() or the constructor sets it"
        try:
            await self._dead_letter(dead_letter_topic(self.topic), raw, dlq_headers)
        except Exception as failure:
            # Not published: the offset stays and the partition waits, as for a handler.
            raise self._stall(origin, event, failure, attempts=1) from failure
        dead_type = event.type if event is not None else headers.get("ce-type")
        metrics.event_dead_lettered(self.service, self.name, dead_type)
        log.error("event_dead_lettered", error=repr(error))
        return "dead_lettered"

    def bind_dead_letter(self, dead_letter: DeadLetter) -> None:
        """Where undecodable events go: the runtime binds the broker's publish; tests a fake."""
        self._dead_letter = dead_letter

    def subscribe(
        self, broker: KafkaBroker, dead_letter: DeadLetter, *, fetch_max_wait_ms: int = 500
    ) -> None:
        """Register on the broker: group = consumer name, commit after success, a
        partition paused while its event is stalled (see the module's docstring)."""
        self.bind_dead_letter(dead_letter)

        async def raw_body(message: Any) -> bytes:  # no JSON decoding before `handle`
            return bytes(message.body)

        subscriber = broker.subscriber(
            self.topic,
            group_id=self.name,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms,
            # A dead member's partitions come back after its session times out: 6 s (the
            # least real Kafka accepts by default) rather than 10 s. A restarted service
            # was ready 18.9 s after a SIGKILL with 10 s, 11.7 s with this. The cost: an
            # event loop stalled for over 6 s loses its partitions (redelivery; inboxes).
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=SESSION_TIMEOUT_MS // 3,
            decoder=raw_body,
            listener=_ForgetRevoked(self),
            title=f"{self.topic}:{self.name}",
            description="Consumes " + ", ".join(self._registry.names),
        )

        async def on_message(body: bytes, message: KafkaMessage) -> None:
            record = message.raw_message
            headers = {k: v for k, v in message.headers.items() if isinstance(v, str)}
            key = record.key.decode(errors="replace") if record.key is not None else None
            origin = Origin(partition=record.partition, offset=record.offset, key=key)
            try:
                await self.handle(body, headers, origin=origin)
            except PartitionStalled as stalled:
                self._pause(
                    message.consumer,  # type: ignore[arg-type]
                    TopicPartition(record.topic, record.partition),
                    stalled.retry_in,
                )
                # FastStream seeks the partition back to this offset, commits nothing
                # and logs no error (ours said it all).
                raise NackMessage() from None

        subscriber(on_message)

    def _pause(self, consumer: AIOKafkaConsumer, partition: TopicPartition, delay: float) -> None:
        if not hasattr(consumer, "pause"):  # FastStream's test client: redelivery at once
            return
        consumer.pause(partition)
        loop = asyncio.get_running_loop()
        handle = loop.call_later(delay, self._resume, consumer, partition)
        self._timers.replace(partition.partition, handle)

    def _resume(self, consumer: AIOKafkaConsumer, partition: TopicPartition) -> None:
        self._timers.handles.pop(partition.partition, None)
        try:
            if partition in consumer.assignment():
                consumer.resume(partition)
        except Exception as error:  # a stopped consumer: nothing to resume
            log.debug("partition_resume_skipped", partition=partition.partition, error=repr(error))


class _ForgetRevoked(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: EventConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        for partition in revoked:
            if partition.topic == self._consumer.topic:
                self._consumer.forget(partition.partition)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None

"""Idempotent consumer: each wire event becomes a command for the service's message
bus, which runs it with the inbox row in one transaction (inbox + state + outbox).

`EventConsumer.handle` (one delivery) and `handle_batch` (what one fetch returned) are
Kafka-free so they are unit-testable; `kafka_subscription.subscribe` binds
`handle_batch` to a FastStream batch subscriber that commits the offsets only after it
returned (AckPolicy.NACK_ON_ERROR). A batch is ONE store transaction (every event its own inbox
row, state change and outbox rows, under its own cause) and ONE offset commit: measured
on a backlog (`benchmarks.consumer_bench`), billing went from ~165 to ~650 events/s and
from ~4.9 to ~1.4 CPU ms per event, the store round trips per event from 34 to 11.
Outcomes are those of handling the deliveries one at a time: if the transaction fails,
its events run again one by one through `handle` (below).

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

How a stalled partition stops while the others flow, on Kafka: `kafka_subscription`.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from faststream.kafka import KafkaBroker
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

log = structlog.get_logger(__name__)

Translate = Callable[[Any], Command]  # a wire event -> the command it asks of this service
DeadLetter = Callable[[str, bytes, dict[str, str]], Awaitable[None]]

# Infrastructure, not the event: named "infrastructure" in a stall, to tell the cases apart.
TransientFailure = (OSError, TimeoutError, sqlite3.OperationalError)


@dataclass(frozen=True)
class Delivery:
    """One record as fetched: its value, its headers and where it was."""

    raw: bytes
    headers: Mapping[str, str]
    origin: Origin


@dataclass(frozen=True)
class _Decoded:
    """A delivery that needs nothing but the bus: a command, or a type to skip."""

    delivery: Delivery
    event: Event | None  # None: a type this consumer does not handle
    command: Command | None
    skipped_type: str | None = None


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
        self.resume_timers = ResumeTimers()

    @property
    def handled_types(self) -> frozenset[type[Event]]:
        return frozenset(self._commands)

    @property
    def handled_names(self) -> list[str]:
        """The wire type names it handles (for the AsyncAPI description)."""
        return list(self._registry.names)

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
        with structlog.contextvars.bound_contextvars(**self._where(origin)):
            try:
                outcome = await self._handle(raw, dict(headers or {}), origin)
            except PartitionStalled:
                self.stats["stalled"] += 1
                raise
            self.stats[outcome] += 1
            self._flowing(origin.partition)
        return outcome

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> dict[int, PartitionStalled]:
        """Deliveries in fetch order (each partition's in offset order). Those that decode
        to commands (and types to skip) run in ONE transaction (`MessageBus.batch`): each
        its inbox row, state and outbox rows, all committed together. Anything else
        (dead letters, a broken translation) goes through `handle` at its place. If the
        transaction fails, its events run again one at a time through `handle` (retries,
        stalls), so the outcome is the same as without batching. Returns the partitions
        that stopped, each at its failing event; their later deliveries here are not
        handled (each key keeps its order) and are fetched again after the pause."""
        stalled: dict[int, PartitionStalled] = {}
        run: list[_Decoded] = []
        for delivery in deliveries:
            if delivery.origin.partition in stalled:
                continue
            decoded = self._decode(delivery)
            if decoded is not None:
                run.append(decoded)
                continue
            await self._run(run, stalled)
            run = []
            if delivery.origin.partition not in stalled:
                await self._one(delivery, stalled)
        await self._run(run, stalled)
        return stalled

    def _decode(self, delivery: Delivery) -> _Decoded | None:
        """The command of a delivery, or None when `handle` must take it (bad input)."""
        try:
            event = self._registry.decode(delivery.raw)
        except UnknownEventType as unknown:
            return _Decoded(delivery, None, None, unknown.event_type)
        except ValueError:
            return None  # dead-lettered by `handle`
        try:
            return _Decoded(delivery, event, self._commands[type(event)](event))
        except Exception:
            return None  # dead-lettered or stalled by `handle`

    async def _one(self, delivery: Delivery, stalled: dict[int, PartitionStalled]) -> None:
        try:
            await self.handle(delivery.raw, delivery.headers, origin=delivery.origin)
        except PartitionStalled as stall:
            stalled[delivery.origin.partition] = stall

    async def _run(self, run: list[_Decoded], stalled: dict[int, PartitionStalled]) -> None:
        commands = [item for item in run if item.command is not None]
        if len(commands) <= 1:  # nothing to share: the plain path, its retries included
            for item in run:
                if item.delivery.origin.partition not in stalled:
                    await self._one(item.delivery, stalled)
            return
        started = time.perf_counter()
        results: list[Any] = []
        # What `handle` binds for an event's log lines, once per event: bound while it
        # runs and logged with its outcome.
        contexts = {
            id(item): {**self._where(item.delivery.origin), **_about(item.event)}
            for item in commands
            if item.event is not None
        }
        inbox = {id(item): InboxEntry(self.name, str(item.event.id)) for item in commands}
        try:
            async with self._bus.batch() as batch:
                await batch.record_inbox(list(inbox.values()))
                for item in commands:
                    assert item.event is not None and item.command is not None
                    with structlog.contextvars.bound_contextvars(**contexts[id(item)]):
                        results.append(
                            await batch.handle(
                                item.command,
                                cause=Cause(item.event.correlation_id, str(item.event.id)),
                                inbox=inbox[id(item)],
                            )
                        )
        except Exception as error:  # not a cancellation: a stopping service just stops
            log.info(
                "event_batch_retried_one_by_one",
                consumer=self.name,
                events=len(commands),
                error=repr(error),
            )
            for item in run:
                if item.delivery.origin.partition not in stalled:
                    await self._one(item.delivery, stalled)
            return
        share = (time.perf_counter() - started) / len(commands)
        outcomes = iter(results)
        for item in run:
            if item.command is None:
                self._finished(item, None, share, {})
            else:
                self._finished(item, next(outcomes), share, contexts[id(item)])

    def _where(self, origin: Origin) -> dict[str, Any]:
        """Which delivery a log line is about."""
        return {
            "consumer": self.name,
            "topic": self.topic,
            "partition": origin.partition,
            "offset": origin.offset,
        }

    def _finished(
        self, item: _Decoded, result: Any, seconds: float, context: dict[str, Any]
    ) -> None:
        """Count and log one committed event of a batch, as `handle` does."""
        event = item.event
        if event is None:
            metrics.event_skipped(self.service, self.name, item.skipped_type)
            outcome = "skipped"
        elif result is ALREADY_HANDLED:
            metrics.event_duplicate(self.service, self.name, event.type)
            log.info("event_duplicate_skipped", **context)
            outcome = "duplicate"
        else:
            metrics.event_consumed(self.service, self.name, event.type, seconds)
            log.info("event_handled", **context)
            outcome = "handled"
        self.stats[outcome] += 1
        self._flowing(item.delivery.origin.partition)

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
        with structlog.contextvars.bound_contextvars(**_about(event)):
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
        self.resume_timers.cancel(partition)
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
        """Register on the broker (`kafka_subscription.subscribe`, where the Kafka side
        of a batch, a pause and a rebalance lives)."""
        # Imported here: that module builds on this one.
        from shared.messaging.kafka_subscription import subscribe

        subscribe(self, broker, dead_letter, fetch_max_wait_ms=fetch_max_wait_ms)


def _about(event: Event) -> dict[str, Any]:
    """Which event a log line is about (bound for everything its handler logs too)."""
    about: dict[str, Any] = {
        "event_type": event.type,
        "event_id": str(event.id),
        "subscription_id": event.subject,
        "correlation_id": event.correlation_id,
    }
    if event.causation_id:
        about["causation_id"] = event.causation_id
    return about

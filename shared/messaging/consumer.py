"""Idempotent consumer: each wire event becomes a command for the service's message
bus, which runs it with the inbox row in one transaction (inbox + state + outbox).

`EventConsumer.handle` is Kafka-free so it is unit-testable; `subscribe` binds it
to a FastStream subscriber that commits the offset only after `handle` returned
(AckPolicy.NACK_ON_ERROR: an exception seeks back and the message is redelivered).

Outcomes:
- known type, new id   -> handler runs; inbox row, state and outbox commit together
- known type, seen id  -> skipped (redelivery)
- a type this consumer does not handle (or a newer producer's) -> skipped, counted
- undecodable / invalid, or the handler keeps failing after `max_attempts`
                       -> published to `<topic>.dlq` with the original headers and
                          the error, then the offset moves on
- the store or network keeps failing (a TransientFailure) after `max_attempts`
                       -> raised: the offset stays, the message comes back, and the
                          partition waits for the infrastructure instead of shedding events
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from shared.errors import Problem
from shared.events.envelope import Event
from shared.events.registry import EventRegistry, UnknownEventType
from shared.events.topics import dead_letter_topic
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


class PermanentFailure(Exception):
    """The event can never be handled (a broken invariant); dead-letter it now."""


# Infrastructure, not the event: never a reason to dead-letter it.
TransientFailure = (OSError, TimeoutError, sqlite3.OperationalError)
# The event itself is wrong: retrying cannot help.
_PERMANENT = (Problem, PermanentFailure, ValidationError)


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
        max_attempts: int = 5,
        first_backoff_seconds: float = 0.1,
    ) -> None:
        self.name = name  # also the consumer group id and the inbox key
        self.topic = topic
        self._bus = bus
        self._commands = dict(commands)
        self._registry = EventRegistry(*commands)
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff_seconds
        self.stats: Counter[str] = Counter()

    @property
    def handled_types(self) -> frozenset[type[Event]]:
        return frozenset(self._commands)

    async def handle(self, raw: bytes, headers: Mapping[str, str] | None = None) -> str:
        """Process one message; returns the outcome name (also counted in `stats`)."""
        outcome = await self._handle(raw, dict(headers or {}))
        self.stats[outcome] += 1
        return outcome

    async def _handle(self, raw: bytes, headers: dict[str, str]) -> str:
        try:
            event = self._registry.decode(raw)
        except UnknownEventType as unknown:
            log.debug(  # routine: most consumers see types they do not handle
                "event_skipped",
                consumer=self.name,
                type=unknown.event_type,
                reason="type not handled by this consumer",
            )
            return "skipped"
        except ValueError as poison:  # bad JSON or schema: ValidationError is a ValueError
            return await self._to_dead_letter(raw, headers, poison)

        # Bound for everything the handler logs, not just our own lines.
        with structlog.contextvars.bound_contextvars(
            consumer=self.name,
            event_type=event.type,
            event_id=str(event.id),
            subscription_id=event.subject,
            correlation_id=event.correlation_id,
        ):
            try:
                command = self._commands[type(event)](event)
            except (ValueError, Problem) as poison:  # facts no command can be made of
                return await self._to_dead_letter(raw, headers, poison)
            return await self._handle_command(event, command, raw, headers)

    async def _handle_command(
        self, event: Event, command: Command, raw: bytes, headers: dict[str, str]
    ) -> str:
        cause = Cause(correlation_id=event.correlation_id, causation_id=str(event.id))
        inbox = InboxEntry(self.name, str(event.id))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_exponential(multiplier=self._first_backoff, max=5.0),
            # Only failures: a cancellation (a stopping service) ends the work at once.
            retry=retry_if_exception_type(Exception) & retry_if_not_exception_type(_PERMANENT),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    result = await self._bus.handle(command, cause=cause, inbox=inbox)
        except _PERMANENT as permanent:
            return await self._to_dead_letter(raw, headers, permanent)
        except TransientFailure as error:
            log.error("event_handler_waiting_for_infrastructure", error=repr(error))
            raise
        except Exception as error:
            log.exception("event_handler_gave_up", attempts=self._max_attempts)
            return await self._to_dead_letter(raw, headers, error)
        if result is ALREADY_HANDLED:
            log.info("event_duplicate_skipped")
            return "duplicate"
        log.info("event_handled")
        return "handled"

    async def _to_dead_letter(
        self, raw: bytes, headers: dict[str, str], error: BaseException
    ) -> str:
        dlq_headers = {
            **headers,
            "x-dlq-error": f"{type(error).__name__}: {error}"[:2000],
            "x-dlq-original-topic": self.topic,
            "x-dlq-consumer": self.name,
        }
        # If this publish fails the exception propagates: the offset is not
        # committed and the message comes back, so nothing is lost.
        assert self._dead_letter is not None, "subscribe() or the constructor sets it"
        await self._dead_letter(dead_letter_topic(self.topic), raw, dlq_headers)
        log.error("event_dead_lettered", consumer=self.name, topic=self.topic, error=repr(error))
        return "dead_lettered"

    def bind_dead_letter(self, dead_letter: DeadLetter) -> None:
        """Where poison goes: the runtime binds the broker's publish; tests bind a fake."""
        self._dead_letter = dead_letter

    def subscribe(
        self, broker: KafkaBroker, dead_letter: DeadLetter, *, fetch_max_wait_ms: int = 500
    ) -> None:
        """Register on the broker: group = consumer name, commit after success."""
        self.bind_dead_letter(dead_letter)

        async def raw_body(message: Any) -> bytes:  # no JSON decoding before `handle`
            return bytes(message.body)

        subscriber = broker.subscriber(
            self.topic,
            group_id=self.name,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms,
            decoder=raw_body,
            title=f"{self.topic}:{self.name}",
            description="Consumes " + ", ".join(self._registry.names),
        )

        async def on_message(body: bytes, message: KafkaMessage) -> None:
            headers = {k: v for k, v in message.headers.items() if isinstance(v, str)}
            await self.handle(body, headers)

        subscriber(on_message)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("event_handler_retrying", attempt=state.attempt_number, error=repr(error))

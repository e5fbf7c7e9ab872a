"""Idempotent consumer: inbox + handler + outbox in one transaction per message.

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

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from shared.events.envelope import Event
from shared.events.registry import EventRegistry, UnknownEventType
from shared.events.topics import dead_letter_topic
from shared.store.port import Store, UnitOfWork

log = structlog.get_logger(__name__)

Handler = Callable[[Any, UnitOfWork], Awaitable[None]]
DeadLetter = Callable[[str, bytes, dict[str, str]], Awaitable[None]]


class PermanentFailure(Exception):
    """The event can never be handled (a broken invariant); dead-letter it now."""


# Infrastructure, not the event: never a reason to dead-letter it.
TransientFailure = (OSError, TimeoutError, sqlite3.OperationalError)


class EventConsumer:
    def __init__(
        self,
        *,
        name: str,
        topic: str,
        store: Store,
        handlers: Mapping[type[Event], Handler],
        dead_letter: DeadLetter | None = None,
        max_attempts: int = 5,
        first_backoff_seconds: float = 0.1,
    ) -> None:
        self.name = name  # also the consumer group id and the inbox key
        self.topic = topic
        self._store = store
        self._handlers = dict(handlers)
        self._registry = EventRegistry(*handlers)
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff_seconds
        self.stats: Counter[str] = Counter()

    @property
    def handled_types(self) -> frozenset[type[Event]]:
        return frozenset(self._handlers)

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
            return await self._handle_event(event, raw, headers)

    async def _handle_event(self, event: Event, raw: bytes, headers: dict[str, str]) -> str:
        handler = self._handlers[type(event)]
        delay = self._first_backoff
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self._store.unit_of_work() as uow:
                    if not await uow.record_inbox(self.name, str(event.id)):
                        log.info("event_duplicate_skipped")
                        return "duplicate"
                    await handler(event, uow)
                    await uow.commit()
                log.info("event_handled")
                return "handled"
            except (PermanentFailure, ValidationError) as permanent:
                return await self._to_dead_letter(raw, headers, permanent)
            except Exception as error:
                if attempt == self._max_attempts:
                    if isinstance(error, TransientFailure):
                        log.error("event_handler_waiting_for_infrastructure", error=repr(error))
                        raise
                    log.exception("event_handler_gave_up", attempts=attempt)
                    return await self._to_dead_letter(raw, headers, error)
                log.warning("event_handler_retrying", attempt=attempt, error=repr(error))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

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

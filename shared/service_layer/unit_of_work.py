"""The unit of work: one store transaction, the aggregates it touched, their events.

After cosmicpython's `service_layer/unit_of_work.py`, minus its dual write: at
`commit()` every aggregate loaded or added through a repository is saved if it
changed, the events it recorded become wire events through the service's mapping,
and those go to the outbox in the SAME transaction. So a state change and the
events it causes commit together or not at all, and no use case emits by hand.

Only the message bus opens and commits one (`shared/service_layer/messagebus.py`).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import structlog

from shared.clock import Clock
from shared.domain.aggregate import Aggregate, DomainEvent
from shared.messaging.mapping import EventMapping
from shared.messaging.outbox import outbox_message
from shared.service_layer.repository import Repository
from shared.store.port import Store, Transaction

log = structlog.get_logger(__name__)

R = TypeVar("R", bound=Repository[Any])
AG = TypeVar("AG", bound=Aggregate)


@dataclass(frozen=True)
class Cause:
    """What started this work: an event (its ids) or a request (no ids)."""

    correlation_id: str | None = None
    causation_id: str | None = None


@dataclass
class _Tracked:
    aggregate: Aggregate
    document: dict[str, Any]  # as loaded (or added): saved again only if it differs
    added: bool = False  # inserted by this unit of work: new state even if unchanged since


class UnitOfWork:
    """A service subclasses it to name its repositories: `uow.subscriptions`."""

    def __init__(
        self,
        store: Store,
        *,
        events: EventMapping,
        clock: Clock,
        cause: Cause | None = None,
        read_only: bool = False,
    ) -> None:
        self._store = store
        self._events = events
        self.clock = clock
        self.cause = cause or Cause()
        self.read_only = read_only
        self._tx: Transaction | None = None
        self._tracked: dict[tuple[type[Aggregate], str], _Tracked] = {}
        # Handed out since the last flush: the ones a batch's next flush looks at.
        self._touched: dict[tuple[type[Aggregate], str], None] = {}
        self._repositories: dict[type[Any], Any] = {}
        self._after_commit: list[
            tuple[Callable[[], Awaitable[None] | None], contextvars.Context]
        ] = []

    async def __aenter__(self) -> UnitOfWork:
        self._tx = self._store.read_only() if self.read_only else self._store.transaction()
        await self._tx.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tx is not None
        await self._tx.__aexit__(exc_type, exc, tb)  # rolls back unless committed

    @property
    def transaction(self) -> Transaction:
        if self._tx is None:
            raise RuntimeError("the unit of work is not open: use `async with`")
        return self._tx

    def repository(self, kind: type[R]) -> R:
        """One repository of each kind per unit of work."""
        if kind not in self._repositories:
            self._repositories[kind] = kind(self)
        repository: R = self._repositories[kind]
        return repository

    def track(self, aggregate: AG, document: dict[str, Any], *, added: bool = False) -> AG:
        """Remember an aggregate handed out; the same id twice gives the same object."""
        key = (type(aggregate), aggregate.id)
        self._touched[key] = None
        known = self._tracked.get(key)
        if known is not None:
            return known.aggregate  # type: ignore[return-value]
        self._tracked[key] = _Tracked(aggregate, document, added)
        return aggregate

    async def record_inbox(self, consumer: str, event_id: str) -> bool:
        """False if `consumer` handled `event_id` already (a redelivery)."""
        return await self.transaction.record_inbox(consumer, event_id)

    async def record_inbox_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """The ids among `event_ids` that `consumer` had not handled (now recorded)."""
        return await self.transaction.record_inbox_many(consumer, event_ids)

    async def next_number(self, sequence: str) -> int:
        return await self.transaction.next_number(sequence)

    def after_commit(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        """Run `callback` once the commit succeeded (e.g. move an in-memory clock);
        an async one is awaited, after the transaction has ended. It runs in the context
        it was registered in: a batch commits after all its events, and what the callback
        logs still carries its own event's (or request's) binding."""
        self._after_commit.append((callback, contextvars.copy_context()))

    async def commit(self) -> None:
        await self.flush(everything=True)
        await self.transaction.commit()
        for callback, context in self._after_commit:
            result = context.run(callback)
            if inspect.isawaitable(result):
                await asyncio.create_task(_awaited(result), context=context)

    async def flush(self, *, everything: bool = False) -> None:
        """Write what changed, and its events, into the open transaction under the
        current `cause`. A batch of events (`MessageBus.batch`) flushes after each
        handler, so each outbox row names the event that caused it; such a flush looks
        only at the aggregates handed out since the last one (a handler reaches no
        other), so a batch costs linear, not quadratic, document comparisons. The
        commit looks at all of them."""
        tx = self.transaction
        recorded: list[tuple[int, DomainEvent, Aggregate]] = []
        changed: list[Aggregate] = []
        touched, self._touched = self._touched, {}
        for key, tracked in list(self._tracked.items()):
            if not everything and key not in touched:
                continue
            aggregate = tracked.aggregate
            document = aggregate.document()
            if document != tracked.document:
                await tx.collection(type(aggregate).COLLECTION).put(aggregate.id, document)
                tracked.document = document
                changed.append(aggregate)
            elif tracked.added:
                changed.append(aggregate)
            tracked.added = False
            recorded += [(n, event, aggregate) for n, event in aggregate.take_events()]
        now = self.clock.now()
        for _, event, aggregate in sorted(recorded, key=lambda r: r[0]):
            wire = self._events.to_wire(
                event,
                time=now,
                correlation_id=self._correlation(aggregate),
                causation_id=self.cause.causation_id,
            )
            tx.add_outbox(outbox_message(wire))
            log.info(
                "event_recorded",
                type=wire.type,
                event_id=str(wire.id),
                subscription_id=wire.subject,
                correlation_id=wire.correlation_id,
            )
        for aggregate in changed:  # its new state, after the events that changed it
            state = self._events.state_of(
                aggregate,
                time=now,
                correlation_id=self._correlation(aggregate),
                causation_id=self.cause.causation_id,
            )
            if state is not None:
                tx.add_outbox(outbox_message(state))

    def _correlation(self, aggregate: Aggregate) -> str:
        """The cause's, else the aggregate's own (the purchase that started it)."""
        own = getattr(aggregate, "correlation_id", None)
        return self.cause.correlation_id or own or str(uuid.uuid4())


async def _awaited(result: Awaitable[None]) -> None:
    await result

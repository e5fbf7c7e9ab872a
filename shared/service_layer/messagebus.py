"""The message bus: the one way into a service's use cases.

After cosmicpython's `service_layer/messagebus.py` and `bootstrap.py`: HTTP routes and
event consumers turn what they received into a command (a change) or a query (a
read) and hand it here. The bus opens the unit of work, runs the one handler
registered for that message type and, for a command, commits. A consumer passes its
inbox entry too, so the inbox row, the state change and the outbox rows are one
transaction. A consumer with several events at hand runs them in one `batch()`: one
transaction for all of them, each with its own inbox row and cause. Handlers are plain `async def handle(message, uow, **dependencies)`;
dependencies (catalog, token signer, clock) are bound by parameter name when the
bus is built, so a missing one fails at start, not on the first request.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from shared.domain.record import Record
from shared.service_layer.group_commit import GroupCommit
from shared.service_layer.unit_of_work import Cause, UnitOfWork


class Command(Record):
    """Imperative: a change a caller asks for (`Checkout`, `AssignLicenses`)."""


class Query(Record):
    """A read: runs on the store's read side and never commits."""


@dataclass(frozen=True)
class InboxEntry:
    consumer: str
    event_id: str


class AlreadyHandled:
    """What `handle` returns for an event the consumer's inbox has seen."""

    def __repr__(self) -> str:
        return "ALREADY_HANDLED"


ALREADY_HANDLED = AlreadyHandled()

Handler = Callable[..., Awaitable[Any]]


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, cause: Cause | None, read_only: bool) -> UnitOfWork: ...


class MessageBus:
    def __init__(
        self,
        *,
        unit_of_work: UnitOfWorkFactory,
        handlers: Mapping[type[Command | Query], Handler],
        dependencies: Mapping[str, Any] | None = None,
    ) -> None:
        self._unit_of_work = unit_of_work
        deps = dict(dependencies or {})
        self._handlers = {kind: _inject(handler, deps) for kind, handler in handlers.items()}
        # Commands without an inbox entry (requests, due work) share transactions when
        # they queue for the writer (shared/service_layer/group_commit.py).
        self._groups = GroupCommit(unit_of_work, self._handler, self._alone)

    def handles(self, kind: type[Command | Query]) -> bool:
        return kind in self._handlers

    async def handle(
        self,
        message: Command | Query,
        *,
        cause: Cause | None = None,
        inbox: InboxEntry | None = None,
    ) -> Any:
        handler = self._handler(message)
        reads = isinstance(message, Query)
        if not reads and inbox is None:
            return await self._groups.handle(message, cause)  # type: ignore[arg-type]
        async with self._unit_of_work(cause=cause, read_only=reads) as uow:
            if inbox is not None and not await uow.record_inbox(inbox.consumer, inbox.event_id):
                return ALREADY_HANDLED
            result = await handler(message, uow)
            if not reads:
                await uow.commit()
        return result

    async def _alone(self, command: Command, cause: Cause | None) -> Any:
        """One command in a transaction of its own."""
        handler = self._handler(command)
        async with self._unit_of_work(cause=cause, read_only=False) as uow:
            result = await handler(command, uow)
            await uow.commit()
        return result

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[Batch]:
        """Commands in ONE transaction, committed when the block ends without an error.
        Anything raised inside rolls all of them back (the caller may then run them one
        at a time with `handle`): none is half-applied."""
        async with self._unit_of_work(cause=None, read_only=False) as uow:
            yield Batch(self, uow)
            await uow.commit()

    def _handler(self, message: Command | Query) -> Handler:
        handler = self._handlers.get(type(message))
        if handler is None:
            raise TypeError(f"no handler registered for {type(message).__name__}")
        return handler


class Batch:
    """Commands of one `MessageBus.batch()`: each runs as `MessageBus.handle` would (inbox
    row first, then its handler) and its changes and events are flushed under its own
    cause before the next one, which sees them."""

    def __init__(self, bus: MessageBus, uow: UnitOfWork) -> None:
        self._bus = bus
        self._uow = uow
        self._new: set[InboxEntry] | None = None  # from `record_inbox`, taken one by one

    async def record_inbox(self, entries: Sequence[InboxEntry]) -> None:
        """The inbox rows of every event the batch will handle, in one go (one store
        round trip, not one per event); `handle` then takes its answer from here. An
        event already handled, or met earlier in the batch, is ALREADY_HANDLED."""
        new: set[InboxEntry] = set()
        for consumer in dict.fromkeys(entry.consumer for entry in entries):
            ids = [entry.event_id for entry in entries if entry.consumer == consumer]
            recorded = await self._uow.record_inbox_many(consumer, ids)
            new |= {InboxEntry(consumer, event_id) for event_id in recorded}
        self._new = new

    async def handle(self, command: Command, *, cause: Cause, inbox: InboxEntry) -> Any:
        handler = self._bus._handler(command)
        self._uow.cause = cause
        if self._new is not None:
            is_new = inbox in self._new
            self._new.discard(inbox)  # a second delivery in the same batch is a duplicate
        else:
            is_new = await self._uow.record_inbox(inbox.consumer, inbox.event_id)
        if not is_new:
            return ALREADY_HANDLED
        result = await handler(command, self._uow)
        await self._uow.flush()
        return result


def _inject(handler: Handler, dependencies: Mapping[str, Any]) -> Handler:
    """Bind every parameter after (message, uow) from `dependencies` by its name."""
    wanted = list(inspect.signature(handler).parameters)[2:]
    missing = [name for name in wanted if name not in dependencies]
    if missing:
        raise TypeError(f"{handler.__qualname__} needs {', '.join(missing)}: not provided")
    return functools.partial(handler, **{name: dependencies[name] for name in wanted})

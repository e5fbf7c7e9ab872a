"""The store port every service writes through.

One transaction holds a service's documents, the outbox rows it emits and the
inbox rows of the events it consumed (one transaction per message). Adapters:
`memory` (fake for unit tests), `sqlite` (embedded default). Both pass the one contract
suite in `tests/contract` (documents, paging, outbox).

Documents are JSON-able dicts keyed by a string id inside named collections, so
each service's typed repositories stay thin and the adapters stay generic.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

import structlog

log = structlog.get_logger(__name__)

Document = dict[str, Any]


def encode_document(doc: Document) -> str:
    """The JSON text every adapter stores: a dict of JSON types only (no NaN)."""
    if not isinstance(doc, dict):
        raise TypeError(f"a document is a dict, got {type(doc).__name__}")
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)


class DuplicateKey(Exception):
    """`insert` found a document with that key already."""


@dataclass(frozen=True)
class OutboxMessage:
    """An event waiting to be published: bytes exactly as they go on the wire."""

    topic: str
    key: str
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimedMessage:
    """An outbox row claimed by one relay under a lease."""

    seq: int
    message: OutboxMessage


class Collection(abc.ABC):
    """Documents of one kind, read and written inside the current transaction."""

    @abc.abstractmethod
    async def get(self, key: str) -> Document | None: ...

    @abc.abstractmethod
    async def insert(self, key: str, doc: Document) -> None:
        """Add a new document; raises DuplicateKey if the key exists."""

    @abc.abstractmethod
    async def put(self, key: str, doc: Document) -> None:
        """Insert or replace."""

    @abc.abstractmethod
    async def find(self, **equals: Any) -> list[Document]:
        """Documents whose top-level fields equal the given values, in insertion order."""

    @abc.abstractmethod
    async def find_page(
        self, limit: int, after: int | None = None, *, descending: bool = False, **equals: Any
    ) -> tuple[list[Document], int | None]:
        """One page of `find`: at most `limit` (>= 1) documents, in insertion order (newest
        first if `descending`), and the cursor of the next page, None on the last one.

        The cursor is the insertion sequence of the page's last document, so a page starts
        right after it (before it, descending): pages tile the result with no duplicate
        and no gap whatever is written between them, a replaced document keeps its place,
        and a document inserted later shows up on a later page of an ascending walk (a
        descending walk has passed its place already: it heads the next walk).
        """


class Transaction(abc.ABC):
    """`async with store.transaction() as tx: ...; await tx.commit()`.

    Leaving the block without `commit()` (or by an exception) rolls everything back.
    A transaction is single-use (use after commit raises RuntimeError) and not
    re-entrant: opening a second one, or calling a Store method, from inside one
    in the same task raises RuntimeError instead of dead-locking the single writer.
    """

    @abc.abstractmethod
    def collection(self, name: str) -> Collection: ...

    @abc.abstractmethod
    def add_outbox(self, message: OutboxMessage) -> None:
        """Queue an event to publish once this transaction commits."""

    @abc.abstractmethod
    async def record_inbox(self, consumer: str, event_id: str) -> bool:
        """Remember that `consumer` handled `event_id`; False if it already had."""

    @abc.abstractmethod
    async def next_number(self, sequence: str) -> int:
        """Next value (1, 2, ...) of a gapless counter; a rollback gives it back."""

    @abc.abstractmethod
    async def commit(self) -> None: ...

    @abc.abstractmethod
    async def rollback(self) -> None: ...

    async def __aenter__(self) -> Transaction:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()  # a no-op after commit


class Store(abc.ABC):
    """A service's durable state plus its outbox and inbox."""

    async def open(self) -> None:  # noqa: B027 - a hook: adapters without I/O keep it
        """Connect / create the schema. Never done at import time."""

    async def close(self) -> None:  # noqa: B027
        """Release connections."""

    @abc.abstractmethod
    def transaction(self) -> Transaction: ...

    def read_only(self) -> Transaction:
        """A transaction for queries (HTTP GETs). An adapter may serve it from its own
        connection so reads do not queue behind writes; writing through it is an error
        there. The default is an ordinary transaction."""
        return self.transaction()

    @abc.abstractmethod
    async def claim_outbox(
        self, lease_token: str, limit: int, lease_until: datetime, now: datetime
    ) -> list[ClaimedMessage]:
        """Unsent rows, oldest first, whose lease is free or expired, leased to `lease_token`."""

    @abc.abstractmethod
    async def mark_sent(self, lease_token: str, seqs: list[int]) -> None:
        """Mark claimed rows as published (only those still leased to `lease_token`)."""

    @abc.abstractmethod
    async def release_outbox(self, lease_token: str, seqs: list[int]) -> None:
        """Give back claimed, unsent rows (a publish failed) so they can be claimed now."""

    @abc.abstractmethod
    async def purge(self, older_than: datetime) -> int:
        """Forget outbox rows sent, and inbox rows recorded, before `older_than`; returns
        how many rows went. Unsent rows always stay. The inbox horizon must exceed how
        long a message can be redelivered (the topic's retention), or a late redelivery
        would be handled twice."""

    @abc.abstractmethod
    async def pending_outbox(self) -> int:
        """How many rows are not yet published (for health and tests)."""

    def on_outbox_commit(self, callback: Callable[[], None]) -> None:
        """Register a no-arg callable run after a commit that added outbox rows."""
        self._outbox_listeners: list[Callable[[], None]] = getattr(self, "_outbox_listeners", [])
        self._outbox_listeners.append(callback)

    def _notify_outbox(self) -> None:
        # The data is committed already: a failing listener must not fail the commit.
        for callback in getattr(self, "_outbox_listeners", []):
            try:
                callback()
            except Exception:
                log.exception("outbox_listener_failed")

"""The store port every service writes through.

One transaction holds a service's documents, the outbox rows it emits and the
inbox rows of the events it consumed (one transaction per message). Adapters:
`memory` (fake for unit tests), `sqlite` (embedded default). Both pass the one contract
suite in `tests/contract` (documents, paging, outbox, unique indexes).

Documents are JSON-able dicts keyed by a string id inside named collections, so
each service's typed repositories stay thin and the adapters stay generic.
"""

from __future__ import annotations

import abc
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

Document = dict[str, Any]


def encode_document(doc: Document) -> str:
    """The JSON text every adapter stores: a dict of JSON types only (no NaN)."""
    if not isinstance(doc, dict):
        raise TypeError(f"a document is a dict, got {type(doc).__name__}")
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)


def check_find(equals: dict[str, Any]) -> None:
    """The limits of `find` in every adapter: names usable in a JSON path, scalar values."""
    for name, wanted in equals.items():
        if '"' in name:
            raise ValueError(f"find cannot filter on a field named {name!r}")
        if wanted is not None and not isinstance(wanted, str | int | float):
            kind = type(wanted).__name__
            raise TypeError(f"find compares str, int, float, bool or None, got {kind}")


def check_page_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"a page holds at least one document, got limit={limit!r}")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DUE_FIELD = re.compile(r"[A-Za-z0-9_]+")


def due_stamp(moment: datetime) -> int:
    """A due time as a document field `find_due` ranges over: integer microseconds since
    the epoch (naive datetimes taken as UTC). Not ISO text: its width varies with the
    precision, so text order is not time order, and nx-27017 reads it as a date."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return (utc - _EPOCH) // _MICROSECOND


def check_find_due(field: str, limit: int) -> None:
    if not _DUE_FIELD.fullmatch(field):
        raise ValueError(f"find_due ranges over a field named [A-Za-z0-9_]+, got {field!r}")
    check_page_limit(limit)


def is_due_stamp(value: Any) -> bool:
    """What `find_due` compares: an integer (a JSON true is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


class DuplicateKey(Exception):
    """`insert` found a document with that key already, or an `insert`/`put` would give
    two documents the same values at a declared `UniqueIndex`."""


_INDEX_NAME = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class UniqueIndex:
    """No two documents of `collection` may hold equal values at all of `fields`.

    Fields are dotted paths into the document ("period.start"). As in SQL, a document
    missing any of them (or holding null there) is not constrained. Values compare as
    SQLite's JSON functions see them (true is 1; 1 equals 1.0; "1" is not 1). A service
    declares one for what must never exist twice, whatever path wrote it (a ledger line
    per subscription, period and type): the store refuses it, not only the code above.
    """

    collection: str
    name: str  # unique per collection; letters, digits and "_" (it names an SQL index)
    fields: tuple[str, ...]

    def __post_init__(self) -> None:
        for part in (self.collection, self.name):
            if not _INDEX_NAME.fullmatch(part):
                raise ValueError(f"an index's collection and name are [A-Za-z0-9_]+, got {part!r}")
        if not self.fields or isinstance(self.fields, str):
            raise ValueError("a unique index needs a tuple of at least one field")
        for path in self.fields:
            if any(not step or '"' in step for step in path.split(".")):
                raise ValueError(f"not a usable field path: {path!r}")

    def values(self, doc: Document) -> tuple[Any, ...] | None:
        """The document's values at `fields`; None when one is missing or null (then the
        document is not constrained)."""
        found: list[Any] = []
        for path in self.fields:
            value: Any = doc
            for step in path.split("."):
                value = value.get(step) if isinstance(value, dict) else None
            if value is None:
                return None
            # Objects and arrays compare as their JSON text, as json_extract returns them.
            is_json = isinstance(value, dict | list)
            found.append(json.dumps(value, separators=(",", ":")) if is_json else value)
        return tuple(found)


class QueryShape(Protocol):
    """A filter a service's repositories send: equality on top-level `fields` of the
    documents of `collection`, in insertion order. A store given these at construction
    serves each from an index (`shared/store/mongodb_indexes.py` lists every service's;
    `mongodb_layout.QueryIndex` is one)."""

    @property
    def collection(self) -> str: ...

    @property
    def fields(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class OutboxMessage:
    """An event waiting to be published: bytes exactly as they go on the wire."""

    topic: str
    key: str
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboxBacklog:
    """The unsent outbox rows at one moment: how many, and when the oldest of them (the
    first by `seq`) was created, as the store stamped it (machinery time,
    `Clock.system_now`, UTC); None when there is none."""

    unsent: int
    oldest_created_at: datetime | None


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

    @abc.abstractmethod
    async def find_due(self, field: str, until: datetime, limit: int) -> list[Document]:
        """At most `limit` documents whose `field` holds a `due_stamp` at or before
        `until`, the earliest first (then in insertion order). A document whose field is
        missing, null or not an integer is never due. Served by a query index on
        `(field,)`: the work that falls due reads what is due, never every document."""


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

    async def record_inbox_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """`record_inbox` for several events at once: the ids recorded now (an id the
        consumer had handled, or one given twice, is recorded once, the first time). An
        adapter may do it in one round trip; this default asks one at a time."""
        recorded: set[str] = set()
        for event_id in dict.fromkeys(event_ids):
            if await self.record_inbox(consumer, event_id):
                recorded.add(event_id)
        return recorded

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

    @abc.abstractmethod
    async def ensure_indexes(self, indexes: Iterable[UniqueIndex]) -> None:
        """Enforce these unique indexes from now on, on every `insert` and `put`.

        Idempotent, and free once done (a service may call it before each unit of
        work). Call it on an open store, outside a transaction. If documents already
        stored break an index, DuplicateKey is raised and that index is not created;
        a name already used for other fields raises ValueError.
        """

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
    async def requeue_sent_since(self, since: datetime) -> int:
        """Mark the rows sent at or after `since` unsent again, lease cleared; returns how
        many. The relay then publishes them once more, oldest first with the unsent rows,
        so each key keeps its order. The replay after a broker lost what it held
        (`tools.replay_outbox`): consumers' inboxes skip what they handled already. Rows
        not yet sent (leased or not) are left as they are."""

    @abc.abstractmethod
    async def pending_outbox(self) -> int:
        """How many rows are not yet published (for health and tests)."""

    @abc.abstractmethod
    async def outbox_backlog(self) -> OutboxBacklog:
        """The unsent rows' count and the creation time of the oldest (for metrics), read
        from the index of unsent rows; never from a walk of the outbox. A row that
        `requeue_sent_since` made unsent again keeps the time it was created."""

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

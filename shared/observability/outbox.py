"""The outbox as metrics: events produced, rows unsent, the age of the oldest unsent row.

`observe_outbox` wraps the relay's publish function (the runtime's one hook line): a
publish the broker acknowledged counts as produced, by topic and type; a row whose
publish has been tried and not yet acknowledged is remembered with its event time
(`ce-time`). At scrape time `refresh_outbox_gauges` reads the unsent count from the
store (one count over the unsent rows' index) and takes the oldest remembered event time.

Why that finds the oldest unsent row: the relay claims unsent rows oldest first and
tries the first row of each key at once, so while rows wait (broker down or slow) the
oldest of them is among those tried. Before the relay has tried anything (no broker
since the process started) nothing is remembered; the age is then counted from the
first scrape that saw the backlog, a lower bound. Times are the events' business time
against the service's clock, so the test clock's offset cancels out.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

from shared.clock import Clock
from shared.observability import metrics
from shared.store.port import OutboxMessage, Store

log = structlog.get_logger(__name__)

Publish = Callable[[OutboxMessage], Awaitable[None]]

SCRAPE_TIMEOUT_SECONDS = 2.0  # a store that does not answer leaves the gauges as they were


class OutboxWatch:
    def __init__(self, service: str, store: Store, clock: Clock) -> None:
        self.service = service
        self._store = store
        self._clock = clock
        self._tried: dict[str, str] = {}  # row (event id) -> its event time, while unsent
        self._untracked_since: datetime | None = None

    def wrap(self, publish: Publish) -> Publish:
        async def publish_observed(message: OutboxMessage) -> None:
            row = _row_id(message)
            self._tried.setdefault(row, message.headers.get("ce-time", ""))
            await publish(message)
            self._tried.pop(row, None)
            metrics.event_produced(self.service, message.topic, message.headers.get("ce-type"))

        return publish_observed

    def oldest_age_seconds(self, unsent: int) -> float:
        """Given the store's unsent count now: the oldest unsent row's age (see above)."""
        now = self._clock.now()
        if unsent == 0:
            self._tried.clear()  # sent, by this relay or another replica's
            self._untracked_since = None
            return 0.0
        times = [t for t in (_parse(v) for v in self._tried.values()) if t is not None]
        if times:
            self._untracked_since = None
            return max(0.0, (now - min(times)).total_seconds())
        if self._untracked_since is None:
            self._untracked_since = now
        return (now - self._untracked_since).total_seconds()

    async def refresh(self) -> None:
        unsent = await asyncio.wait_for(self._store.pending_outbox(), SCRAPE_TIMEOUT_SECONDS)
        metrics.OUTBOX_UNSENT.labels(self.service).set(unsent)
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(self.oldest_age_seconds(unsent))


# The watches of this process, by service (a service built again, in tests, replaces its
# watch; one whose runtime is gone is dropped with it).
_watches: weakref.WeakValueDictionary[str, OutboxWatch] = weakref.WeakValueDictionary()


def observe_outbox(service: str, store: Store, clock: Clock, publish: Publish) -> Publish:
    """`publish`, counted and watched; the service's outbox gauges refresh at scrape time."""
    watch = OutboxWatch(service, store, clock)
    _watches[service] = watch
    return watch.wrap(publish)  # holds the watch: it lives as long as the relay


async def refresh_outbox_gauges() -> None:
    for watch in list(_watches.values()):
        try:
            await watch.refresh()
        except Exception as error:  # a closed or unreachable store: the gauges stay
            log.debug("outbox_metrics_unavailable", service=watch.service, error=repr(error))


def _row_id(message: OutboxMessage) -> str:
    return message.headers.get("ce-id") or f"{message.topic}/{message.key}/{hash(message.payload)}"


def _parse(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)

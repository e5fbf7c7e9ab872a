"""The outbox as metrics: events produced, rows unsent, the age of the oldest unsent row.

`observe_outbox` wraps the relay's publish function (the runtime's one hook line): a
publish the broker acknowledged counts as produced, by topic and type. At scrape time
`refresh_outbox_gauges` asks the store for its backlog (`Store.outbox_backlog`, read
from the index of unsent rows): the unsent count, and the creation time of the oldest
unsent row as the store stamped it. The age is the clock's machinery time now
(`Clock.system_now`, the time the store stamps rows with) minus that time: exact,
whether or not the relay has tried the row, and untouched by the test clock's offset.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable

import structlog

from shared.clock import Clock
from shared.observability import metrics
from shared.store.port import OutboxBacklog, OutboxMessage, Store

log = structlog.get_logger(__name__)

Publish = Callable[[OutboxMessage], Awaitable[None]]

SCRAPE_TIMEOUT_SECONDS = 2.0  # a store that does not answer leaves the gauges as they were


class OutboxWatch:
    def __init__(self, service: str, store: Store, clock: Clock) -> None:
        self.service = service
        self._store = store
        self._clock = clock  # the store's: it stamped the rows with `system_now`

    def wrap(self, publish: Publish) -> Publish:
        async def publish_observed(message: OutboxMessage) -> None:
            await publish(message)
            metrics.event_produced(self.service, message.topic, message.headers.get("ce-type"))

        return publish_observed

    def oldest_age_seconds(self, backlog: OutboxBacklog) -> float:
        """The oldest unsent row's age now; 0 when there is none. Never negative: another
        process sharing the store may stamp with a clock a little ahead of ours."""
        if backlog.oldest_created_at is None:
            return 0.0
        age = self._clock.system_now() - backlog.oldest_created_at
        return max(0.0, age.total_seconds())

    async def refresh(self) -> None:
        backlog = await asyncio.wait_for(self._store.outbox_backlog(), SCRAPE_TIMEOUT_SECONDS)
        metrics.OUTBOX_UNSENT.labels(self.service).set(backlog.unsent)
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(self.oldest_age_seconds(backlog))


# The watches of this process, by service (a service built again, in tests, replaces its
# watch; one whose runtime is gone is dropped with it).
_watches: weakref.WeakValueDictionary[str, OutboxWatch] = weakref.WeakValueDictionary()


def observe_outbox(service: str, store: Store, clock: Clock, publish: Publish) -> Publish:
    """`publish`, counted; the service's outbox gauges refresh at scrape time. `clock` is
    the one the store stamps rows with."""
    watch = OutboxWatch(service, store, clock)
    _watches[service] = watch
    return watch.wrap(publish)  # holds the watch: it lives as long as the relay


async def refresh_outbox_gauges() -> None:
    for watch in list(_watches.values()):
        try:
            await watch.refresh()
        except Exception as error:  # a closed or unreachable store: the gauges stay
            log.debug("outbox_metrics_unavailable", service=watch.service, error=repr(error))

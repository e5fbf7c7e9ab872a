"""The outbox as metrics: a publish the broker acknowledged counts as produced; at scrape
time the store's backlog (unsent count, creation time of the oldest unsent row) becomes
the gauges, the age measured on the clock the store stamps rows with."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta

from shared.clock import FixedClock
from shared.messaging.outbox import outbox_message
from shared.observability.metrics import REGISTRY
from shared.observability.outbox import OutboxWatch, observe_outbox, refresh_outbox_gauges
from shared.store.memory import MemoryStore
from shared.store.port import OutboxBacklog, OutboxMessage
from tests.support.kernel import licenses_assigned

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Broker:
    def __init__(self) -> None:
        self.up = True
        self.published: list[OutboxMessage] = []

    async def __call__(self, message: OutboxMessage) -> None:
        if not self.up:
            raise ConnectionError("broker unreachable")
        self.published.append(message)


def gauge(name: str, service: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"service": service})


async def committed(store: MemoryStore, *messages: OutboxMessage) -> None:
    async with store.transaction() as tx:
        for message in messages:
            tx.add_outbox(message)
        await tx.commit()


def a_service() -> str:
    return f"svc{uuid.uuid4().hex[:8]}"


async def test_an_acknowledged_publish_counts_as_produced_by_topic_and_type() -> None:
    service, broker = a_service(), Broker()
    publish = observe_outbox(service, MemoryStore(), FixedClock(T0), broker)
    message = outbox_message(licenses_assigned())

    await publish(message)
    broker.up = False
    with contextlib.suppress(ConnectionError):
        await publish(message)

    labels = {"service": service, "topic": message.topic, "type": "LicensesAssigned"}
    assert REGISTRY.get_sample_value("csp_events_produced_total", labels) == 1


async def test_the_oldest_unsent_row_ages_from_its_creation_though_no_relay_tried_it() -> None:
    clock = FixedClock(T0)
    service, store = a_service(), MemoryStore(clock=clock)
    _relay = observe_outbox(service, store, clock, Broker())  # holds the watch; never called
    await committed(store, outbox_message(licenses_assigned("sub-1")))
    clock.advance(timedelta(seconds=30))
    await committed(store, outbox_message(licenses_assigned("sub-2")))
    clock.advance(timedelta(seconds=60))

    await refresh_outbox_gauges()

    assert gauge("csp_outbox_unsent_rows", service) == 2
    assert gauge("csp_outbox_oldest_unsent_age_seconds", service) == 90


async def test_once_the_oldest_is_sent_the_age_is_the_next_ones() -> None:
    clock = FixedClock(T0)
    service, store = a_service(), MemoryStore(clock=clock)
    publish = observe_outbox(service, store, clock, Broker())
    await committed(store, outbox_message(licenses_assigned("sub-1")))
    clock.advance(timedelta(seconds=30))
    await committed(store, outbox_message(licenses_assigned("sub-2")))
    clock.advance(timedelta(seconds=10))

    first, _ = await store.claim_outbox("relay", 10, T0 + timedelta(minutes=5), clock.now())
    await publish(first.message)
    await store.mark_sent("relay", [first.seq])
    await refresh_outbox_gauges()

    assert gauge("csp_outbox_unsent_rows", service) == 1
    assert gauge("csp_outbox_oldest_unsent_age_seconds", service) == 10


async def test_the_test_clocks_offset_does_not_show_in_the_age() -> None:
    clock = FixedClock(T0)
    service, store = a_service(), MemoryStore(clock=clock)
    _relay = observe_outbox(service, store, clock, Broker())  # holds the watch
    await committed(store, outbox_message(licenses_assigned()))
    clock.offset = timedelta(days=30)  # business time moved on; the machinery's did not
    clock.advance(timedelta(seconds=5))

    await refresh_outbox_gauges()

    assert gauge("csp_outbox_oldest_unsent_age_seconds", service) == 5


async def test_with_nothing_unsent_both_gauges_read_zero() -> None:
    clock = FixedClock(T0)
    service, store = a_service(), MemoryStore(clock=clock)
    publish = observe_outbox(service, store, clock, Broker())  # the relay would hold it
    await committed(store, outbox_message(licenses_assigned()))
    await refresh_outbox_gauges()
    assert gauge("csp_outbox_unsent_rows", service) == 1

    [row] = await store.claim_outbox("relay", 10, T0 + timedelta(seconds=10), T0)
    await publish(row.message)
    await store.mark_sent("relay", [row.seq])
    await refresh_outbox_gauges()

    assert gauge("csp_outbox_unsent_rows", service) == 0
    assert gauge("csp_outbox_oldest_unsent_age_seconds", service) == 0


async def test_a_service_whose_relay_is_gone_is_no_longer_scraped() -> None:
    service = a_service()
    observe_outbox(service, MemoryStore(), FixedClock(T0), Broker())  # nothing holds it

    await refresh_outbox_gauges()

    assert gauge("csp_outbox_unsent_rows", service) is None


async def test_a_store_that_fails_leaves_the_gauges_as_they_were() -> None:
    class Failing(MemoryStore):
        fail = False

        async def outbox_backlog(self) -> OutboxBacklog:
            if self.fail:
                raise ConnectionError("store unreachable")
            return await super().outbox_backlog()

    clock = FixedClock(T0)
    service, store = a_service(), Failing(clock=clock)
    _relay = observe_outbox(service, store, clock, Broker())  # holds the watch
    await committed(store, outbox_message(licenses_assigned()))
    clock.advance(timedelta(seconds=7))
    await refresh_outbox_gauges()

    store.fail = True
    clock.advance(timedelta(seconds=60))
    await refresh_outbox_gauges()

    assert gauge("csp_outbox_unsent_rows", service) == 1
    assert gauge("csp_outbox_oldest_unsent_age_seconds", service) == 7


def test_a_row_stamped_by_a_clock_a_little_ahead_reads_as_age_zero() -> None:
    watch = OutboxWatch(a_service(), MemoryStore(), FixedClock(T0))
    assert watch.oldest_age_seconds(OutboxBacklog(1, T0 + timedelta(seconds=2))) == 0
    assert watch.oldest_age_seconds(OutboxBacklog(1, T0 - timedelta(seconds=2))) == 2
    assert watch.oldest_age_seconds(OutboxBacklog(0, None)) == 0

"""The outbox as metrics: a publish the broker acknowledged counts as produced; at scrape
time the store's unsent count and the age of the oldest unsent row (its event time,
remembered while its publish fails) become gauges."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta

from shared.clock import FixedClock
from shared.messaging.outbox import outbox_message
from shared.observability.metrics import REGISTRY
from shared.observability.outbox import OutboxWatch, observe_outbox, refresh_outbox_gauges
from shared.store.memory import MemoryStore
from shared.store.port import OutboxMessage
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


async def test_while_publishes_fail_the_oldest_unsent_row_ages_from_its_event_time() -> None:
    service, store, clock, broker = a_service(), MemoryStore(), FixedClock(T0), Broker()
    publish = observe_outbox(service, store, clock, broker)
    older = outbox_message(licenses_assigned("sub-1").model_copy(update={"time": T0}))
    newer = outbox_message(
        licenses_assigned("sub-2").model_copy(update={"time": T0 + timedelta(seconds=30)})
    )
    await committed(store, older, newer)
    broker.up = False
    for message in (newer, older):  # each key's first row is tried; both fail
        with contextlib.suppress(ConnectionError):
            await publish(message)
    clock.advance(timedelta(seconds=90))

    await refresh_outbox_gauges()

    assert gauge("csp_outbox_unsent_rows", service) == 2
    assert gauge("csp_outbox_oldest_unsent_age_seconds", service) == 90


async def test_with_nothing_unsent_both_gauges_read_zero() -> None:
    service, store, clock = a_service(), MemoryStore(), FixedClock(T0)
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


async def test_a_backlog_the_relay_never_tried_ages_from_the_first_scrape_that_saw_it() -> None:
    clock = FixedClock(T0)
    watch = OutboxWatch(a_service(), MemoryStore(), clock)

    assert watch.oldest_age_seconds(unsent=3) == 0  # first seen now: a lower bound
    clock.advance(timedelta(seconds=40))
    assert watch.oldest_age_seconds(unsent=3) == 40
    assert watch.oldest_age_seconds(unsent=0) == 0
    clock.advance(timedelta(seconds=5))
    assert watch.oldest_age_seconds(unsent=1) == 0  # a new backlog starts again


async def test_rows_sent_meanwhile_by_another_relay_are_forgotten_once_the_outbox_is_empty() -> (
    None
):
    clock, broker = FixedClock(T0), Broker()
    watch = OutboxWatch(a_service(), MemoryStore(), clock)
    publish = watch.wrap(broker)
    broker.up = False
    with contextlib.suppress(ConnectionError):
        await publish(outbox_message(licenses_assigned().model_copy(update={"time": T0})))
    clock.advance(timedelta(seconds=10))
    assert watch.oldest_age_seconds(unsent=1) == 10

    assert watch.oldest_age_seconds(unsent=0) == 0
    assert watch.oldest_age_seconds(unsent=1) == 0  # the failed row is not remembered

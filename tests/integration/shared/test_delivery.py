"""Delivery guarantees against the real broker process: outbox out, inbox in.

Both sides are the tally service of `tests.support.kernel`: the producer's commands
record events its unit of work writes to the outbox; the receiver's consumer turns
them back into commands on its own bus.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared.clock import Clock
from shared.events import LicensesAssigned
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.store.sqlite import SqliteStore
from tests.support.kernel import (
    EVENTS,
    Count,
    TallyUnitOfWork,
    count_from,
    licenses_assigned,
    tally_bus,
)
from tests.support.polling import eventually
from tests.support.topics import read_records

pytestmark = pytest.mark.broker


def runtime(
    name: str, bootstrap: str, store: SqliteStore, consumers=(), publishes=()
) -> ServiceRuntime:
    broker = make_broker(bootstrap, client_id=name, graceful_timeout=1.0)
    return ServiceRuntime(
        name=name,
        store=store,
        broker=broker,
        clock=Clock(),
        consumers=consumers,
        publishes=publishes,
    )


async def test_committed_events_cross_the_broker_in_order_and_poison_is_dead_lettered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    seen: list[int] = []

    async def note(command: Count, uow: TallyUnitOfWork) -> None:
        seen.append(command.assigned_count)  # records nothing: no echo on the topic

    producer_store = SqliteStore(tmp_path / "producer.sqlite3")
    consumer_store = SqliteStore(tmp_path / "consumer.sqlite3")
    consumer = EventConsumer(
        name="delivery.order",
        topic=LicensesAssigned.TOPIC,
        bus=tally_bus(consumer_store, clock=Clock(), handlers={Count: note}),
        commands={LicensesAssigned: count_from},
    )
    producer = runtime("producer", kafka_bootstrap, producer_store, publishes=EVENTS.publishes)
    receiver = runtime("receiver", kafka_bootstrap, consumer_store, consumers=[consumer])
    producing = tally_bus(producer_store, clock=Clock())
    await producer.start()
    await receiver.start()
    try:
        for assigned in range(1, 6):  # five commits, each writing one outbox row
            await producing.handle(Count("sub-order", assigned))
        await producer.dead_letter(LicensesAssigned.TOPIC, b"{not json", {"x-origin": "test"})
        await eventually(lambda: asyncio.sleep(0, seen), lambda s: len(s) == 5, what="5 events")
        await eventually(
            lambda: asyncio.sleep(0, consumer.stats),
            lambda s: s["dead_lettered"] == 1,
            what="poison dead-lettered",
        )
        assert await producer.store.pending_outbox() == 0
    finally:
        await receiver.stop()
        await producer.stop()

    assert seen == [1, 2, 3, 4, 5]
    [dead] = await read_records(kafka_bootstrap, "provisioning.subscriptions.dlq", at_least=1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert dead.value == b"{not json"
    assert headers["x-origin"] == "test"
    assert headers["x-dlq-consumer"] == "delivery.order"
    assert "JSONDecodeError" in headers["x-dlq-error"]


@pytest.mark.timeout(120)  # a cancelled handler that is retried hangs the stop: fail, not wait
async def test_an_event_whose_handling_never_committed_is_redelivered_after_a_restart(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    store = SqliteStore(tmp_path / "consumer.sqlite3")
    started = asyncio.Event()
    handled: list[str] = []

    async def hangs(command: Count, uow: TallyUnitOfWork) -> None:
        started.set()
        await asyncio.Event().wait()  # the process dies here, mid-transaction

    async def completes(command: Count, uow: TallyUnitOfWork) -> None:
        handled.append(command.subscription_id)

    def consumer(handler) -> EventConsumer:
        return EventConsumer(
            name="delivery.restart",
            topic="delivery.restart.events",
            bus=tally_bus(store, clock=Clock(), handlers={Count: handler}),
            commands={LicensesAssigned: count_from},
        )

    first = runtime("first", kafka_bootstrap, store, consumers=[consumer(hangs)])
    await first.start()
    producer = make_broker(kafka_bootstrap, client_id="producer")
    await producer.start()
    event = licenses_assigned("sub-restart", 1)
    await producer.publish(event.to_bytes(), topic="delivery.restart.events", key=b"sub-restart")
    await producer.stop()
    await asyncio.wait_for(started.wait(), 30)
    await first.stop()  # cancels the handler: no commit of state, inbox or offset

    second = runtime("second", kafka_bootstrap, store, consumers=[consumer(completes)])
    await second.start()
    try:
        await eventually(
            lambda: asyncio.sleep(0, handled),
            lambda h: h == ["sub-restart"],
            what="redelivery after restart",
        )
    finally:
        await second.stop()

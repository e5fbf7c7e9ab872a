"""A service serves HTTP as soon as its store is open; /healthz is liveness, /readyz says
when it consumes; a stop is ordered (consumers, due work, outbox, broker, store) and
bounded. The broker here is a fake (or a real client pointed at a closed port)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from structlog.testing import capture_logs

from shared.clock import FixedClock
from shared.due_work import DueWorkRunner
from shared.http.app import create_service_app
from shared.messaging import runtime as runtime_module
from shared.messaging.embedded_broker import free_port
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.store.memory import MemoryStore
from shared.store.port import OutboxMessage

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class FakeSubscriptionState:
    """The part of aiokafka's subscription state readiness reads."""

    reassignment_in_progress = True


class FakeConsumer:
    def __init__(self) -> None:
        self.partitions: set[Any] = set()
        self._subscription = FakeSubscriptionState()

    def assignment(self) -> set[Any]:
        return self.partitions

    def receive(self, partitions: set[Any]) -> None:
        """An assignment received at the end of a join round (empty for a standby)."""
        self.partitions = partitions
        self._subscription.reassignment_in_progress = False

    def begin_rebalance(self) -> None:
        self.partitions = set()
        self._subscription.reassignment_in_progress = True


class Partition:
    def __init__(self, number: int) -> None:
        self.partition = number


class FakeSubscriber:
    """A consumer group member: `start()` returns once `joined` is set (its assignment)."""

    def __init__(self, group: str, calls: list[str]) -> None:
        self.group_id = group
        self.topic_names = [f"{group}.topic"]
        self.consumer: FakeConsumer | None = None
        self.joined = asyncio.Event()
        self.in_flight = asyncio.Event()  # set: a handler is running until `finish`
        self.finish = asyncio.Event()
        self.hangs = False
        self.join_failures = 0
        self.partition: int | None = 0  # None: joins with no partition (a standby replica)
        self._calls = calls

    async def start(self) -> None:
        self.consumer = FakeConsumer()
        if self.join_failures:
            self.join_failures -= 1
            raise ConnectionError("coordinator not available")
        await self.joined.wait()
        self.consumer.receive({Partition(self.partition)} if self.partition is not None else set())

    async def stop(self) -> None:
        self._calls.append(f"stop consuming {self.group_id}")
        if self.hangs:
            await asyncio.Event().wait()
        if self.in_flight.is_set():
            await self.finish.wait()
            self._calls.append(f"in-flight handler of {self.group_id} committed")
        self.consumer = None


class FakeBroker:
    def __init__(self, *groups: str, refusals: int = 0) -> None:
        self.calls: list[str] = []
        self.subscribers = [FakeSubscriber(group, self.calls) for group in groups]
        self.publishers: list[Any] = []
        self.running = False
        self.refusals = refusals
        self.published: list[bytes] = []
        self.publish_hangs = False

    async def connect(self) -> None:
        if self.refusals:
            self.refusals -= 1
            raise ConnectionError("connection refused")
        self.calls.append("connect")

    async def stop(self) -> None:
        self.calls.append("close broker")

    async def publish(self, payload: bytes, **_: Any) -> None:
        if self.publish_hangs:
            await asyncio.Event().wait()
        self.published.append(payload)
        self.calls.append(f"publish {payload.decode()}")


class TracingStore(MemoryStore):
    def __init__(self, calls: list[str]) -> None:
        super().__init__()
        self._calls = calls

    async def close(self) -> None:
        self._calls.append("close store")
        await super().close()


async def write_outbox(store: MemoryStore, payload: str) -> None:
    async with store.transaction() as tx:
        tx.add_outbox(OutboxMessage(topic="t", key="k", payload=payload.encode()))
        await tx.commit()


def runtime_on(broker: Any, store: MemoryStore | None = None) -> ServiceRuntime:
    return ServiceRuntime(
        name="svc",
        store=store if store is not None else MemoryStore(),
        broker=broker,
        clock=FixedClock(NOW),
    )


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def service_app(runtime: ServiceRuntime, **hooks: Any) -> FastAPI:
    router = APIRouter()

    @router.post("/things", status_code=201)
    async def write() -> dict[str, str]:  # a request that only writes store + outbox
        await write_outbox(runtime.store, "thing")
        return {"id": "thing"}

    return create_service_app(runtime=runtime, title="svc", routers=[router], **hooks)


async def test_with_the_broker_unreachable_it_is_live_not_ready_and_takes_writes() -> None:
    broker = make_broker(f"127.0.0.1:{free_port()}", client_id="svc")  # nothing listens
    store = MemoryStore()
    runtime = runtime_on(broker, store)
    app = service_app(runtime)
    began = time.monotonic()
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://svc"
        ) as http:
            assert time.monotonic() - began < 2  # the lifespan did not wait for the broker
            live = await http.get("/healthz")
            ready = await http.get("/readyz")
            written = await http.post("/things")
            await until(lambda: runtime.readiness()[1]["connectAttempts"] >= 2)
            retrying = (await http.get("/readyz")).json()
            schema = (await http.get("/openapi.json")).json()

            assert (live.status_code, live.json()) == (200, {"status": "ok"})
            assert ready.status_code == 503
            assert ready.json()["status"] == "starting"
            assert ready.json()["phase"] == "connecting"
            assert ready.json()["brokerConnected"] is False
            assert written.status_code == 201
            assert await store.pending_outbox() == 1  # waits there for the broker
            assert retrying["lastError"]  # what the last attempt failed with
            assert "/healthz" not in schema["paths"] and "/readyz" not in schema["paths"]
        stopping_began = time.monotonic()
    assert time.monotonic() - stopping_began < 3  # nothing to wait for: it never connected
    assert await store.pending_outbox() == 1  # kept for the next start


async def test_ready_once_every_group_has_partitions_and_the_relay_publishes_before() -> None:
    broker = FakeBroker("svc.a", "svc.b", refusals=1)
    store = MemoryStore()
    runtime = runtime_on(broker, store)
    consuming: list[str] = []

    async def start_due_work() -> None:
        consuming.append("due work started")

    await write_outbox(store, "written-before")
    await runtime.open()
    runtime.start_in_background([start_due_work])
    a, b = broker.subscribers
    await until(lambda: runtime.readiness()[1].get("phase") == "joining")
    # Connected, groups still joining: not ready, but the outbox already flows.
    await until(lambda: broker.published == [b"written-before"])
    assert runtime.readiness()[0] is False
    assert runtime.readiness()[1]["brokerConnected"] is True
    assert runtime.readiness()[1]["connectAttempts"] == 2
    assert consuming == []

    a.joined.set()
    await asyncio.sleep(0.05)
    assert runtime.readiness()[0] is False  # one group still waits for its assignment
    b.joined.set()
    await asyncio.wait_for(runtime.wait_consuming(), 5)
    ready, details = runtime.readiness()
    assert ready and details["status"] == "ready"
    assert [(g["group"], g["partitions"]) for g in details["consumers"]] == [
        ("svc.a", [0]),
        ("svc.b", [0]),
    ]
    assert consuming == ["due work started"]

    assert b.consumer is not None
    b.consumer.begin_rebalance()  # a rebalance took its partitions away
    ready, details = runtime.readiness()
    assert (ready, details["status"], details["phase"]) == (False, "starting", "rebalancing")

    await runtime.stop()


async def test_a_replica_standing_by_with_no_partition_is_ready_once_it_joined() -> None:
    # More replicas than partitions: the group gives this member none. It consumes its
    # share (nothing) and takes partitions over when another member leaves: ready.
    broker = FakeBroker("svc.a")
    runtime = runtime_on(broker)
    (a,) = broker.subscribers
    a.partition = None
    await runtime.open()
    runtime.start_in_background()
    await until(lambda: runtime.readiness()[1].get("phase") == "joining")
    assert runtime.readiness()[0] is False  # still joining: an empty assignment so far
    a.joined.set()
    await asyncio.wait_for(runtime.wait_consuming(), 5)
    ready, details = runtime.readiness()
    assert ready and details["status"] == "ready"
    assert details["consumers"] == [
        {"group": "svc.a", "topics": ["svc.a.topic"], "joined": True, "partitions": []}
    ]
    await runtime.stop()


async def test_a_group_that_fails_to_join_is_retried_from_a_fresh_connection() -> None:
    broker = FakeBroker("svc.a", "svc.b")
    a, b = broker.subscribers
    a.join_failures = 1
    b.joined.set()
    a.joined.set()
    runtime = runtime_on(broker)
    await runtime.open()
    runtime.start_in_background()

    await asyncio.wait_for(runtime.wait_consuming(), 5)

    assert runtime.ready
    assert broker.calls[:3] == ["connect", "close broker", "connect"]
    assert runtime.readiness()[1]["status"] == "ready"
    await runtime.stop()


async def test_stop_finishes_in_flight_work_then_publishes_the_outbox_then_closes() -> None:
    broker = FakeBroker("svc.a")
    store = TracingStore(broker.calls)
    runtime = runtime_on(broker, store)
    (subscriber,) = broker.subscribers
    subscriber.joined.set()
    await runtime.open()
    runtime.start_in_background()
    await asyncio.wait_for(runtime.wait_consuming(), 5)
    subscriber.in_flight.set()  # a handler is running as the stop begins
    seen_while_stopping: list[Any] = []

    async def last_due_work_pass() -> None:  # an on_stop hook: due work finishing
        seen_while_stopping.append(runtime.readiness())
        await write_outbox(store, "from-due-work")

    async def handler_commits() -> None:
        await asyncio.sleep(0.2)
        await write_outbox(store, "from-handler")
        subscriber.finish.set()

    finishing = asyncio.create_task(handler_commits())
    with capture_logs() as logs:
        await runtime.stop([last_due_work_pass])
    await finishing

    assert seen_while_stopping == [(False, {"status": "stopping"})]
    # The relay keeps publishing while the consumers stop; the broker closes only after
    # it published what the in-flight handler committed last.
    calls = broker.calls
    assert calls.index("stop consuming svc.a") < calls.index("in-flight handler of svc.a committed")
    assert calls.index("in-flight handler of svc.a committed") < calls.index("close broker")
    assert calls.index("publish from-handler") < calls.index("close broker")
    assert calls.index("publish from-due-work") < calls.index("close broker")
    assert calls[-2:] == ["close broker", "close store"]
    assert runtime.readiness() == (False, {"status": "stopped"})
    (stopped,) = [entry for entry in logs if entry["event"] == "service_stopped"]
    assert stopped["clean"] is True
    assert stopped["outbox_unsent"] == 0


async def test_stop_is_bounded_when_handlers_and_the_broker_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime_module, "RUNTIME_STOP_SECONDS", 1.5)
    monkeypatch.setattr(runtime_module, "HANDLER_GRACE_SECONDS", 0.3)
    monkeypatch.setattr(runtime_module, "CLOSE_RESERVE_SECONDS", 0.5)
    broker = FakeBroker("svc.a")
    store = TracingStore(broker.calls)
    runtime = runtime_on(broker, store)
    (subscriber,) = broker.subscribers
    subscriber.joined.set()
    await runtime.open()
    runtime.start_in_background()
    await asyncio.wait_for(runtime.wait_consuming(), 5)
    subscriber.hangs = True
    broker.publish_hangs = True
    await write_outbox(store, "stuck")

    began = time.monotonic()
    with capture_logs() as logs:
        await runtime.stop()

    assert time.monotonic() - began < 1.5 + 0.5
    assert broker.calls[-2:] == ["close broker", "close store"]
    (stopped,) = [entry for entry in logs if entry["event"] == "service_stopped"]
    assert stopped["clean"] is False
    assert stopped["overran"] == ["consumers and due work", "outbox drain"]
    assert stopped["outbox_unsent"] == 1  # published at the next start


async def test_stopping_while_still_connecting_gives_up_at_once() -> None:
    broker = FakeBroker("svc.a", refusals=10**6)
    runtime = runtime_on(broker)
    await runtime.open()
    runtime.start_in_background()
    await until(lambda: runtime.readiness()[1].get("connectAttempts", 0) >= 2)

    began = time.monotonic()
    with capture_logs() as logs:
        await runtime.stop()

    assert time.monotonic() - began < 1
    (stopped,) = [entry for entry in logs if entry["event"] == "service_stopped"]
    assert stopped["clean"] is True


async def test_due_work_stop_lets_the_pass_in_progress_finish_within_its_grace() -> None:
    started, finished = asyncio.Event(), []

    async def slow(now: datetime) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(now)

    runner = DueWorkRunner("svc", FixedClock(NOW), [slow], interval=0.01)
    runner.start()
    await asyncio.wait_for(started.wait(), 5)
    await runner.stop(grace=2.0)
    assert finished == [NOW]

    started.clear()
    hung = DueWorkRunner("svc", FixedClock(NOW), [lambda now: asyncio.Event().wait()])
    hung.interval = 0.01
    hung.start()
    began = time.monotonic()
    await asyncio.sleep(0.05)
    await hung.stop(grace=0.2)  # a pass that does not finish is cancelled
    assert time.monotonic() - began < 1


class StalledConsumer:
    """An event consumer stopped on one partition (what `EventConsumer.status` shows)."""

    topic = "svc.topic"

    def subscribe(self, *_: Any, **__: Any) -> None:
        pass

    def status(self) -> dict[str, Any]:
        return {"consumer": "svc.a", "stalled": [{"partition": 0, "lastError": "NotFound: x"}]}


async def test_readiness_shows_a_stopped_partition_without_turning_unready() -> None:
    """A restart does not fix a handler that keeps failing: shown, not counted against."""
    broker = FakeBroker("svc.a")
    broker.subscribers[0].joined.set()
    runtime = ServiceRuntime(
        name="svc",
        store=MemoryStore(),
        broker=broker,  # type: ignore[arg-type]
        clock=FixedClock(NOW),
        consumers=[StalledConsumer()],  # type: ignore[list-item]
    )
    await runtime.open()
    runtime.start_in_background()
    await asyncio.wait_for(runtime.wait_consuming(), 5)

    ready, details = runtime.readiness()

    assert ready
    assert details["events"] == [StalledConsumer().status()]
    await runtime.stop()

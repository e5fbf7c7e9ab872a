"""The test clock: off unless enabled; an advance is recorded and announced in one commit;
a clock moves only once the commit that recorded its offset succeeded; a service
applies an announced offset and keeps it across a restart."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.billing.bootstrap import build_app as build_billing
from services.billing.settings import BillingSettings
from services.ordering.bootstrap import build_app as build_ordering
from services.ordering.settings import OrderingSettings
from shared.clock import FixedClock
from shared.due_work import DueWork, DueWorkRunner
from shared.events import EventRegistry
from shared.events.testclock import TEST_CLOCK_TOPIC, TestClockAdvanced
from shared.http.auth import mint_token
from shared.messaging.mapping import EventMapping
from shared.service import ServiceDefinition, build_bus
from shared.service_layer import MessageBus, UnitOfWork
from shared.store.memory import MemoryStore
from shared.store.port import Transaction
from shared.testclock import AdvanceTestClock, ClockOffset, TestClock

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
READER = {"sub": "u", "partnerId": "p", "roles": ["SalesAgent"]}


def client(app: FastAPI, secret: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {mint_token(secret, READER)}"},
    )


def ordering(enabled: bool, store: MemoryStore, clock: FixedClock) -> httpx.AsyncClient:
    settings = OrderingSettings(csp_test_clock=enabled)
    return client(build_ordering(settings, store=store, clock=clock), settings.csp_jwt_secret)


def kernel_bus(
    service: str, store: MemoryStore, clock: FixedClock, due_work: list[DueWork] | None = None
) -> tuple[TestClock, MessageBus]:
    """A service with nothing but the test clock plugged in, as `assemble_service` does."""
    runner = DueWorkRunner(service, clock, due_work or [])
    test_clock = TestClock(
        service, clock, can_advance=service == "ordering", catch_up=runner.run_now
    )
    definition = ServiceDefinition(
        name=service,
        title=service,
        unit_of_work=UnitOfWork,
        events=EventMapping(service, {}),
        handlers={},
    )
    return test_clock, build_bus(definition, store, clock, test_clock=test_clock)


async def saved_offset(store: MemoryStore) -> float | None:
    async with store.read_only() as tx:
        document = await tx.collection(ClockOffset.COLLECTION).get("offset")
    return None if document is None else ClockOffset.model_validate(document).seconds


def announcement(offset: timedelta) -> TestClockAdvanced:
    return TestClockAdvanced(
        source="ordering",
        time=START,
        subject="test-clock",
        correlation_id="c",
        data={"offsetSeconds": offset.total_seconds(), "now": START + offset},
    )


async def test_the_test_clock_routes_do_not_exist_unless_enabled() -> None:
    async with ordering(False, MemoryStore(), FixedClock(START)) as api:
        assert (await api.get("/admin/test-clock")).status_code == 404
        assert (await api.post("/admin/test-clock", json={"advanceBy": "PT1H"})).status_code == 404


async def test_advancing_records_the_offset_and_announces_it_in_one_commit() -> None:
    store, clock = MemoryStore(), FixedClock(START)
    async with ordering(True, store, clock) as api:
        answer = await api.post("/admin/test-clock", json={"advanceBy": "PT25H"})
        assert answer.status_code == 200
        assert answer.json() == {"now": "2026-11-23T13:00:00Z"}
        assert (await api.get("/admin/test-clock")).json() == {"now": "2026-11-23T13:00:00Z"}

    assert await saved_offset(store) == 25 * 3600
    [row] = await store.claim_outbox("t", 10, START + timedelta(minutes=1), START)
    announced = EventRegistry(TestClockAdvanced).decode(row.message.payload)
    assert announced.data.offset_seconds == 25 * 3600
    assert announced.data.now == START + timedelta(hours=25)
    assert row.message.topic == TEST_CLOCK_TOPIC


@pytest.mark.parametrize("body", [{"advanceBy": "soon"}, {"advanceBy": "PT0S"}, {}])
async def test_a_bad_advance_is_a_400_naming_advance_by(body: dict) -> None:
    async with ordering(True, MemoryStore(), FixedClock(START)) as api:
        answer = await api.post("/admin/test-clock", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["target"] == "advanceBy"


async def test_only_ordering_advances_other_services_only_read() -> None:
    settings = BillingSettings(csp_test_clock=True)
    app = build_billing(settings, store=MemoryStore(), clock=FixedClock(START))
    async with client(app, settings.csp_jwt_secret) as api:
        assert (await api.get("/admin/test-clock")).json() == {"now": "2026-11-22T12:00:00Z"}
        assert (await api.post("/admin/test-clock", json={"advanceBy": "PT1H"})).status_code == 405


class FailingCommits(MemoryStore):
    """The disk fills up: every commit fails (and rolls back)."""

    def transaction(self) -> Transaction:
        tx = super().transaction()

        async def commit() -> None:
            raise sqlite3.OperationalError("database or disk is full")

        tx.commit = commit  # type: ignore[method-assign]
        return tx


async def test_the_clock_moves_only_after_the_commit_a_failed_commit_leaves_it() -> None:
    store, clock = FailingCommits(), FixedClock(START)
    _, bus = kernel_bus("ordering", store, clock)

    with pytest.raises(sqlite3.OperationalError):
        await bus.handle(AdvanceTestClock("PT25H"))

    assert clock.now() == START  # nothing committed, so nothing moved
    assert await saved_offset(store) is None
    assert await store.pending_outbox() == 0


async def test_a_service_applies_an_announced_offset_after_its_commit_then_runs_due_work() -> None:
    store, clock = MemoryStore(), FixedClock(START)
    ran: list[tuple[datetime, float | None]] = []

    async def due(now: datetime) -> None:
        ran.append((now, await saved_offset(store)))  # the offset is committed by now

    test_clock, bus = kernel_bus("billing", store, clock, due_work=[due])
    consumer = test_clock.consumer(bus)

    assert await consumer.handle(announcement(timedelta(hours=1)).to_bytes()) == "handled"

    assert clock.now() == START + timedelta(hours=1)
    assert ran == [(START + timedelta(hours=1), 3600.0)]


async def test_a_restarted_service_restores_its_offset() -> None:
    store = MemoryStore()
    test_clock, bus = kernel_bus("billing", store, FixedClock(START))
    await test_clock.consumer(bus).handle(announcement(timedelta(hours=1)).to_bytes())

    restarted = FixedClock(START)
    await TestClock("billing", restarted, can_advance=False).restore(store)

    assert restarted.now() == START + timedelta(hours=1)


async def test_a_service_that_never_saw_an_announcement_restores_to_no_offset() -> None:
    clock = FixedClock(START)
    await TestClock("billing", clock, can_advance=False).restore(MemoryStore())
    assert clock.now() == START

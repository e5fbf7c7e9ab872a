"""The test clock: off unless enabled; advancing is recorded, announced and applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.billing.bootstrap import build_app as build_billing
from services.ordering.bootstrap import build_app as build_ordering
from shared.clock import FixedClock
from shared.events import EventRegistry
from shared.events.testclock import TestClockAdvanced
from shared.http.auth import mint_token
from shared.settings import Settings
from shared.store.memory import MemoryStore
from shared.testclock import TestClock

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def settings(enabled: bool) -> Settings:
    return Settings(csp_test_clock=enabled)


def client(app) -> httpx.AsyncClient:
    token = mint_token(
        Settings().csp_jwt_secret, {"sub": "u", "partnerId": "p", "roles": ["SalesAgent"]}
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_the_test_clock_routes_do_not_exist_unless_enabled() -> None:
    async with client(build_ordering(settings(False), store=MemoryStore())) as api:
        assert (await api.get("/admin/test-clock")).status_code == 404
        assert (await api.post("/admin/test-clock", json={"advanceBy": "PT1H"})).status_code == 404


async def test_advancing_moves_ordering_now_and_announces_the_new_offset() -> None:
    store, clock = MemoryStore(), FixedClock(START)
    async with client(build_ordering(settings(True), store=store, clock=clock)) as api:
        answer = await api.post("/admin/test-clock", json={"advanceBy": "PT25H"})
        assert answer.status_code == 200
        assert answer.json() == {"now": "2026-11-23T13:00:00Z"}
        assert (await api.get("/admin/test-clock")).json() == {"now": "2026-11-23T13:00:00Z"}

    [row] = await store.claim_outbox("t", 10, START + timedelta(minutes=1), START)
    announced = EventRegistry(TestClockAdvanced).decode(row.message.payload)
    assert announced.data.offset_seconds == 25 * 3600
    assert row.message.topic == "ordering.test-clock"


@pytest.mark.parametrize("body", [{"advanceBy": "soon"}, {"advanceBy": "PT0S"}, {}])
async def test_a_bad_advance_is_a_400_naming_advance_by(body: dict) -> None:
    async with client(
        build_ordering(settings(True), store=MemoryStore(), clock=FixedClock(START))
    ) as api:
        answer = await api.post("/admin/test-clock", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["target"] == "advanceBy"


async def test_only_ordering_advances_other_services_only_read() -> None:
    async with client(
        build_billing(settings(True), store=MemoryStore(), clock=FixedClock(START))
    ) as api:
        assert (await api.get("/admin/test-clock")).json() == {"now": "2026-11-22T12:00:00Z"}
        assert (await api.post("/admin/test-clock", json={"advanceBy": "PT1H"})).status_code == 405


async def test_a_service_applies_the_announced_offset_runs_due_work_and_keeps_it_after_restart() -> (
    None
):
    store = MemoryStore()
    ran: list[datetime] = []
    clock = FixedClock(START)
    billing_clock = TestClock("billing", store, clock)

    async def due(uow) -> None:
        ran.append(clock.now())

    billing_clock.due_work.append(due)
    event = TestClockAdvanced(
        source="ordering",
        time=START,
        subject="test-clock",
        correlation_id="c",
        data={"offsetSeconds": 3600.0, "now": START + timedelta(hours=1)},
    )
    assert await billing_clock.consumer().handle(event.to_bytes()) == "handled"
    assert clock.now() == START + timedelta(hours=1)
    assert ran == [START + timedelta(hours=1)]

    restarted = FixedClock(START)
    await TestClock("billing", store, restarted).restore()
    assert restarted.now() == START + timedelta(hours=1)

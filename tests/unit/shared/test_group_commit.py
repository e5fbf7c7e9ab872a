"""Group commit (shared/service_layer/group_commit.py): commands sent while the writer is
busy share one transaction, each with the outcome it would have had alone: its result
or its error, its changes seen by the commands after it, its request's log binding."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from shared.errors import RuleBroken
from tests.support.kernel import (
    Count,
    CountingStore,
    TallyUnitOfWork,
    count,
    outbox_events,
    stored_counts,
    tally_bus,
)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


async def test_commands_sent_together_share_one_transaction_in_arrival_order(store) -> None:
    bus = tally_bus(store)

    await asyncio.gather(*(bus.handle(Count("sub-1", n)) for n in (1, 2, 3)))

    assert store.transactions == 1
    assert await stored_counts(store, "sub-1") == [1, 2, 3]
    assert [e.data.assigned_count for e in await outbox_events(store)] == [1, 2, 3]


async def test_a_failing_command_fails_alone_and_the_others_commit(store) -> None:
    bus = tally_bus(store)

    outcomes = await asyncio.gather(
        bus.handle(Count("sub-1", 1)),
        bus.handle(Count("sub-1", -1)),  # a count is never negative: RuleBroken
        bus.handle(Count("sub-1", 2)),
        return_exceptions=True,
    )

    assert isinstance(outcomes[1], RuleBroken)
    assert outcomes[0] is None and outcomes[2] is None
    assert await stored_counts(store, "sub-1") == [1, 2]
    assert len(await outbox_events(store)) == 2


async def test_a_command_alone_runs_once_even_when_it_fails(store) -> None:
    runs = 0

    async def broken(command: Count, uow: TallyUnitOfWork) -> None:
        nonlocal runs
        runs += 1
        raise RuntimeError("a bug")

    bus = tally_bus(store, handlers={Count: broken})
    with pytest.raises(RuntimeError):
        await bus.handle(Count("sub-1", 1))
    assert runs == 1


async def test_each_command_logs_with_its_own_request_binding(store) -> None:
    seen: dict[int, object] = {}

    async def noting(command: Count, uow: TallyUnitOfWork) -> None:
        seen[command.assigned_count] = structlog.contextvars.get_contextvars().get("request")
        await count(command, uow)

    bus = tally_bus(store, handlers={Count: noting})

    async def request(n: int) -> None:
        with structlog.contextvars.bound_contextvars(request=f"r{n}"):
            await bus.handle(Count("sub-1", n))

    await asyncio.gather(*(request(n) for n in (1, 2, 3)))

    assert store.transactions == 1
    assert seen == {1: "r1", 2: "r2", 3: "r3"}

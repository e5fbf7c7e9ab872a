"""The due-work runner: every piece runs at business time, failures do not stop the
others, and the real-time tick runs passes by itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from shared.clock import FixedClock
from shared.due_work import DueWorkRunner, each_due

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def test_a_pass_runs_every_piece_at_business_time_even_after_one_fails() -> None:
    clock = FixedClock(START)
    clock.offset = timedelta(days=3)
    seen: list[datetime] = []

    async def broken(now: datetime) -> None:
        raise RuntimeError("store down")

    async def renewals(now: datetime) -> None:
        seen.append(now)

    runner = DueWorkRunner("billing", clock, [broken, renewals])
    await runner.run_now()

    assert seen == [START + timedelta(days=3)]
    assert runner.runs == 1


async def test_the_tick_runs_passes_until_stopped() -> None:
    passes = asyncio.Event()
    count = 0

    async def work(now: datetime) -> None:
        nonlocal count
        count += 1
        if count == 3:
            passes.set()

    runner = DueWorkRunner("provisioning", FixedClock(START), [work], interval=0.01)
    runner.start()
    await asyncio.wait_for(passes.wait(), timeout=5)
    await runner.stop()
    stopped_at = runner.runs
    await runner.run_now()  # a pass still runs on demand (the test clock's catch-up)

    assert stopped_at >= 3
    assert runner.runs == stopped_at + 1


async def test_a_runner_without_work_starts_no_task() -> None:
    runner = DueWorkRunner("ordering", FixedClock(START), [])
    runner.start()
    assert runner._task is None
    await runner.stop()


class DueItems:
    """Due items in order; handling one takes it off, unless it is one that fails."""

    def __init__(self, count: int, failing: frozenset[str] = frozenset()) -> None:
        self.due = [f"item-{n:03}" for n in range(count)]
        self.failing = failing
        self.reads: list[int] = []  # how many each read returned
        self.handled: list[str] = []

    async def fetch(self, limit: int) -> list[str]:
        found = self.due[:limit]
        self.reads.append(len(found))
        return found

    async def handle(self, item: str) -> None:
        self.handled.append(item)
        if item not in self.failing:
            self.due.remove(item)


async def test_each_due_reads_a_batch_at_a_time_until_nothing_is_left() -> None:
    items = DueItems(7)

    await each_due(items.fetch, items.handle, key=str, batch=3)

    assert items.handled == [f"item-{n:03}" for n in range(7)]
    assert items.reads == [3, 3, 1]  # never more than a batch in memory
    assert items.due == []


async def test_an_item_that_stays_due_is_tried_once_per_pass_and_holds_up_nothing() -> None:
    items = DueItems(5, failing=frozenset({"item-000", "item-003"}))

    await each_due(items.fetch, items.handle, key=str, batch=3)

    assert sorted(items.handled) == [f"item-{n:03}" for n in range(5)]  # each exactly once
    assert items.due == ["item-000", "item-003"]  # still due: the next pass tries again


async def test_a_batch_of_nothing_but_failed_items_ends_the_pass() -> None:
    items = DueItems(4, failing=frozenset({"item-000", "item-001"}))

    await each_due(items.fetch, items.handle, key=str, batch=2)

    # The first two failed and fill every batch: the pass ends rather than spin; the
    # others wait for a pass where the failed ones are fixed (logged by `handle`).
    assert items.handled == ["item-000", "item-001"]
    assert items.reads == [2, 2]

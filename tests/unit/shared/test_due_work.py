"""The due-work runner: every piece runs at business time, failures do not stop the
others, and the real-time tick runs passes by itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from shared.clock import FixedClock
from shared.due_work import DueWorkRunner

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

"""Work that falls due with business time: renewals, acceptance timeouts, webhook
retries, the next billing period.

A service names its due work (`ServiceDefinition.due_work`: async callables taking
business "now"); the runner calls each every `interval` seconds of real time and, with
the test clock on, right after the clock moved. One run at a time per process, so a
tick and a test-clock move never interleave. Each piece of work commits through the
bus and must be idempotent: two replicas, or a crash between two ticks, may repeat it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

import structlog

from shared.clock import Clock

log = structlog.get_logger(__name__)

DueWork = Callable[[datetime], Awaitable[None]]
T = TypeVar("T")

DUE_BATCH = 500  # items read per query: a pass never loads every live aggregate at once


async def each_due(
    fetch: Callable[[int], Awaitable[Sequence[T]]],
    handle: Callable[[T], Awaitable[None]],
    *,
    key: Callable[[T], str],
    batch: int | None = None,
) -> None:
    """Handle everything due now, a batch at a time. `fetch(limit)` reads the earliest
    due items; a handled one stops being due, so the next read brings the next ones. One
    that stays due (its handling failed: `handle` logs it) is not retried in this pass,
    and a batch of nothing but those ends it, to be tried again on the next."""
    batch = DUE_BATCH if batch is None else batch
    attempted: set[str] = set()
    while True:
        found = await fetch(batch)
        fresh = [item for item in found if key(item) not in attempted]
        for item in fresh:
            attempted.add(key(item))
            await handle(item)
        if len(found) < batch or not fresh:
            return


class DueWorkRunner:
    def __init__(
        self, service: str, clock: Clock, work: Sequence[DueWork], *, interval: float = 1.0
    ) -> None:
        self.service = service
        self.clock = clock
        self.work = list(work)
        self.interval = interval
        self.runs = 0  # completed passes: a test waits on this, never on a sleep
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def run_now(self) -> None:
        """One pass over every piece of due work at the clock's current business time.
        A failing piece is logged and retried on the next pass; the others still run."""
        async with self._lock:
            for work in self.work:
                try:
                    await work(self.clock.now())
                except Exception:
                    log.exception("due_work_failed", service=self.service, work=_name(work))
            self.runs += 1

    def start(self) -> None:
        if self.work and self._task is None:
            self._task = asyncio.create_task(self._tick(), name=f"{self.service}-due-work")

    async def stop(self, *, grace: float = 0.0) -> None:
        """Stop the tick. A pass in progress gets `grace` seconds to finish (each of its
        commands commits whole or not at all) before it is cancelled."""
        task, self._task = self._task, None
        if task is None:
            return
        if grace > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace), self._lock:  # held: no pass running
                    task.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.run_now()


def _name(work: DueWork) -> str:
    return getattr(work, "__qualname__", None) or repr(work)

"""The chaos: SIGKILL services at random moments, keep them down a while, restart them.

Every number comes from one seeded RNG drawn in a fixed order, so a seed always gives
the same kill order, pauses and downtimes (the flow's timing around them still varies).
The broker is never killed: it keeps its data in memory only, so losing it would be a
test-setup failure, not a product one.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tools.chaos_system import System

KILLS = {"provisioning": 2, "billing": 2, "ordering": 1}
CALM_S = (0.5, 3.0)  # running time before each kill
DOWN_S = (0.5, 3.0)  # how long a killed service stays down


@dataclass(frozen=True)
class Kill:
    service: str
    pid: int
    at_s: float  # since the start of the flow
    down_s: float
    back_s: float  # kill -> healthy again (downtime + restart)
    flow: str  # what the flow had done at the moment of the kill


@dataclass
class Monkey:
    system: System
    rng: random.Random
    started: float  # time.monotonic() at the start of the flow
    flow_progress: Callable[[], str]
    plan: list[str] = field(init=False)
    kills: list[Kill] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        self.plan = [name for name, times in KILLS.items() for _ in range(times)]
        self.rng.shuffle(self.plan)

    @property
    def last_kill_at(self) -> float | None:
        """time.monotonic() of the last kill, if any."""
        return self.started + self.kills[-1].at_s if self.kills else None

    async def run(self) -> None:
        for name in self.plan:
            await asyncio.sleep(self.rng.uniform(*CALM_S))
            down_s = self.rng.uniform(*DOWN_S)
            kill = await self._kill_and_restart(name, down_s)
            self.kills.append(kill)
            print(
                f"  t={kill.at_s:6.1f}s  kill -9 {name:<12} pid {kill.pid:<7}"
                f" down {kill.down_s:.1f} s, healthy again after {kill.back_s:.1f} s"
                f"  [flow then: {kill.flow}]",
                flush=True,
            )
            async with self._changed:
                self._changed.notify_all()

    async def _kill_and_restart(self, name: str, down_s: float) -> Kill:
        flow = self.flow_progress()
        killed_at = time.monotonic()
        pid = self.system.kill(name)
        await asyncio.sleep(down_s)
        await self.system.start(name)
        return Kill(
            service=name,
            pid=pid,
            at_s=killed_at - self.started,
            down_s=down_s,
            back_s=time.monotonic() - killed_at,
            flow=flow,
        )

    async def wait_for_kills(self, count: int) -> None:
        """Until `count` kills are over (the service is back): paces the buyer."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.kills) >= count)

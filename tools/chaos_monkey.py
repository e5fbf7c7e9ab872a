"""The chaos: SIGKILL services mid-flow at random moments, keep them down, restart them.

A kill's moment is random in the flow's progress rather than on the clock (why: see
tools.chaos_pace): in round r it fires a random 0-50 ms after a random number of
share r's purchases have been activated. Every number comes from one seeded RNG drawn
in a fixed order, so a seed always gives the same kill order, trigger points, jitters
and downtimes (the system's own timing around them still varies). With
`--broker-restarts N` the plan also holds N restarts of the embedded broker: SIGKILLed
like a service, a new one started on the same port with nothing in it, and the way back
taken (tools.chaos_broker: topics, consumer groups, the outbox replay).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tools.chaos_broker import BrokerRestart, restart_broker
from tools.chaos_pace import Pace
from tools.chaos_system import System

KILLS = {"provisioning": 2, "billing": 2, "ordering": 1}
BROKER = "broker"  # in a plan: a broker restart
JITTER_S = (0.0, 0.05)  # after the trigger: a share of 10 is done ~0.15 s later
DOWN_S = (0.5, 3.0)  # how long a killed service stays down before its restart


@dataclass(frozen=True)
class Kill:
    service: str
    pid: int
    at_s: float  # since the start of the flow
    down_s: float
    back_s: float  # kill -> healthy again (downtime + restart)
    moment: str  # its trigger in the flow
    flow: str  # what the flow had done at the moment of the kill


@dataclass
class Monkey:
    system: System
    rng: random.Random
    started: float  # time.monotonic() at the start of the flow
    flow_progress: Callable[[], str]
    pace: Pace
    kills_per_service: dict[str, int] = field(default_factory=lambda: dict(KILLS))
    broker_restarts: int = 0
    plan: list[str] = field(init=False)
    kills: list[Kill] = field(default_factory=list)
    restarts: list[BrokerRestart] = field(default_factory=list)  # of the broker

    def __post_init__(self) -> None:
        planned = {**self.kills_per_service, BROKER: self.broker_restarts}
        self.plan = [name for name, times in planned.items() for _ in range(times)]
        self.rng.shuffle(self.plan)

    @property
    def last_kill_at(self) -> float | None:
        """time.monotonic() of the last kill, if any."""
        return self.started + self.kills[-1].at_s if self.kills else None

    async def run(self) -> None:
        for round_, name in enumerate(self.plan):
            await self.pace.begin_round(round_)  # the buyer checks out this round's share
            share = self.pace.share_sizes[round_]
            # Leave some of the share in flight; an empty share (small N) kills at once.
            trigger = self.rng.randint(1, max(1, share - 1)) if share else 0
            jitter_s, down_s = self.rng.uniform(*JITTER_S), self.rng.uniform(*DOWN_S)
            reached = await self.pace.wait_for_activations(round_, trigger)
            await asyncio.sleep(jitter_s)
            moment = (
                f"round {round_}, {trigger}/{share} activated + {jitter_s * 1000:.0f} ms"
                if reached
                else f"round {round_}, {trigger}/{share} NOT activated in time"
            )
            kill = await self._kill_and_restart(name, down_s, moment)
            self.kills.append(kill)
            back = "healthy again" if name != BROKER else "replay queued"
            print(
                f"  t={kill.at_s:6.1f}s  kill -9 {name:<12} pid {kill.pid:<7} ({kill.moment})"
                f" down {kill.down_s:.1f} s, {back} after {kill.back_s:.1f} s"
                f"  [flow then: {kill.flow}]",
                flush=True,
            )
            if name == BROKER:
                restart = self.restarts[-1]
                print(
                    f"           new broker: {len(restart.topics_created)} topics created,"
                    f" consumer groups joined after {restart.groups_back_s:.1f} s, replay"
                    f" queued {restart.requeued} outbox rows again",
                    flush=True,
                )
        await self.pace.begin_round(len(self.plan))  # the chaos is over: the last share

    async def _kill_and_restart(self, name: str, down_s: float, moment: str) -> Kill:
        flow = self.flow_progress()
        killed_at = time.monotonic()
        if name == BROKER:
            restart = await restart_broker(self.system, down_s)
            self.restarts.append(restart)
            pid = restart.pid
        else:
            pid = self.system.kill(name)
            await asyncio.sleep(down_s)
            await self.system.start(name)
        return Kill(
            service=name,
            pid=pid,
            at_s=killed_at - self.started,
            down_s=down_s,
            back_s=time.monotonic() - killed_at,
            moment=moment,
            flow=flow,
        )

"""Where the chaos and the flow meet, so that every kill lands while work is in flight.

Unpaced, the 60 purchases take ~3 s while each restart takes ~20 s (the restarted
service's consumer group waits out the dead member's session before /readyz says ok),
and a kill at a random wall-clock moment almost always hit an idle system: no call cut
off, no redelivery. So the run goes in rounds, one per kill plus one after the chaos:
the buyer checks out one share of its carts when a round begins, and the kill of that
round fires when a random number of that share's purchases have been activated (the
rest of the share still in flight). The last share comes after the last restart.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

TRIGGER_LIMIT_S = 60.0  # a share that stops progressing must not stall the chaos


def share_of(cart: int, carts: int, rounds: int) -> int:
    """The round in which this cart is checked out: the carts split evenly over rounds."""
    return cart * rounds // carts


@dataclass
class Pace:
    share_sizes: list[int]  # purchases checked out per round
    _round: int = -1  # no round begun yet
    _activated: Counter[int] = field(default_factory=Counter)  # per round
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @classmethod
    def of(cls, cart_sizes: list[int], rounds: int) -> Pace:
        sizes = [0] * rounds
        for cart, size in enumerate(cart_sizes):
            sizes[share_of(cart, len(cart_sizes), rounds)] += size
        return cls(sizes)

    async def begin_round(self, round_: int) -> None:
        async with self._changed:
            self._round = round_
            self._changed.notify_all()

    async def wait_for_round(self, round_: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._round >= round_)

    async def activated(self, round_: int) -> None:
        async with self._changed:
            self._activated[round_] += 1
            self._changed.notify_all()

    async def wait_for_activations(self, round_: int, count: int) -> bool:
        """Until `count` purchases of this round's share are activated; False when that
        did not happen within TRIGGER_LIMIT_S."""
        try:
            async with asyncio.timeout(TRIGGER_LIMIT_S), self._changed:
                await self._changed.wait_for(lambda: self._activated[round_] >= count)
        except TimeoutError:
            return False
        return True

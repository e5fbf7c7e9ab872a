"""The arithmetic of the figures: percentiles, rates, drain rates and ratios (no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    if not values:
        raise ValueError("no values")
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is not in (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values_ms: Sequence[float]) -> dict[str, Any]:
    """count, p50 / p95 / p99 / max in ms (one decimal); just the count when empty."""
    if not values_ms:
        return {"count": 0}
    return {
        "count": len(values_ms),
        "p50_ms": round(percentile(values_ms, 50), 1),
        "p95_ms": round(percentile(values_ms, 95), 1),
        "p99_ms": round(percentile(values_ms, 99), 1),
        "max_ms": round(max(values_ms), 1),
    }


def rate_in_window(moments: Sequence[float], start: float, end: float) -> float:
    """Events per second among `moments` that fall in [start, end)."""
    if end <= start:
        raise ValueError("empty window")
    return sum(1 for t in moments if start <= t < end) / (end - start)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator to two decimals; None when either is unknown or zero."""
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


@dataclass(frozen=True)
class Drain:
    """How fast a consumer group worked off a backlog (see `drain_rate`)."""

    events: int  # events consumed between the first observed progress and the end
    seconds: float
    backlog: int  # events waiting when the consumer started
    first: int  # index of the sample that first showed progress
    last: int  # index of the first sample at the end

    @property
    def samples(self) -> int:
        """Observations inside the timed interval: its resolution."""
        return self.last - self.first + 1

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


def drain_rate(samples: Sequence[tuple[float, int]], end: int) -> Drain | None:
    """From (time, committed offset sum) samples taken while a consumer works off a
    backlog up to `end`: the rate between the first sample that shows progress and the
    first that shows the end. Timing from the first progress leaves out the process
    start and the consumer group join. None when the drain was never seen to progress,
    never reached the end, or went by between two samples (no interval to time)."""
    if not samples:
        return None
    base = samples[0][1]
    first = next((i for i, (_, committed) in enumerate(samples) if committed > base), None)
    if first is None:
        return None
    last = next((i for i in range(first, len(samples)) if samples[i][1] >= end), None)
    if last is None or last == first:
        return None
    (t0, c0), (t1, _) = samples[first], samples[last]
    if t1 <= t0 or end <= c0:
        return None
    return Drain(events=end - c0, seconds=t1 - t0, backlog=end - base, first=first, last=last)

"""Events per topic over time, by the records' broker timestamps.

Counts are kept per second for the last HORIZON_SECONDS only, a sliding window (older
seconds are dropped; the totals stay): the rate is the last minute's count, the chart
the last five minutes in buckets of BUCKET_SECONDS. Read from the beginning at start,
old records fall outside the horizon: the rate shows what happens now, the total
everything.

The window is kept bounded as records are counted, not only when a page asks: a
dashboard nobody looks at for weeks holds at most MAX_SECONDS_KEPT counters per topic
(the newest seconds seen, whatever the records' clocks say).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

BUCKET_SECONDS = 10
SERIES_BUCKETS = 30
HORIZON_SECONDS = BUCKET_SECONDS * SERIES_BUCKETS  # five minutes
RATE_WINDOW_SECONDS = 60
# Per topic, the most distinct seconds held: past it, all but the newest HORIZON_SECONDS
# are dropped at once (so the pruning is paid once per HORIZON_SECONDS new seconds).
MAX_SECONDS_KEPT = 2 * HORIZON_SECONDS


class TopicRates:
    def __init__(self, topics: Iterable[str]) -> None:
        self._topics = list(topics)
        self._totals: Counter[str] = Counter()
        self._undecodable: Counter[str] = Counter()
        self._seconds: dict[str, Counter[int]] = defaultdict(Counter)
        self._last_ms: dict[str, int] = {}

    def count(self, topic: str, timestamp_ms: int, *, decodable: bool = True) -> None:
        if topic not in self._topics:
            self._topics.append(topic)
        self._totals[topic] += 1
        if not decodable:
            self._undecodable[topic] += 1
        seconds = self._seconds[topic]
        seconds[timestamp_ms // 1000] += 1
        if len(seconds) > MAX_SECONDS_KEPT:
            for old in sorted(seconds)[:-HORIZON_SECONDS]:
                del seconds[old]
        self._last_ms[topic] = max(self._last_ms.get(topic, 0), timestamp_ms)

    def seconds_kept(self) -> int:
        """How many per-second counters are held, over every topic (bounded)."""
        return sum(len(s) for s in self._seconds.values())

    def snapshot(self, now_ms: int) -> list[dict[str, Any]]:
        now_s = now_ms // 1000
        horizon = now_s - HORIZON_SECONDS
        first_bucket = now_s // BUCKET_SECONDS - SERIES_BUCKETS + 1
        topics = []
        for topic in self._topics:
            seconds = self._seconds[topic]
            for old in [s for s in seconds if s <= horizon]:
                del seconds[old]  # a long-running reader's memory stays bounded
            series = [0] * SERIES_BUCKETS
            for second, n in seconds.items():
                index = second // BUCKET_SECONDS - first_bucket
                if 0 <= index < SERIES_BUCKETS:
                    series[index] += n
            recent = sum(n for s, n in seconds.items() if now_s - RATE_WINDOW_SECONDS < s <= now_s)
            last = self._last_ms.get(topic)
            topics.append(
                {
                    "topic": topic,
                    "total": self._totals[topic],
                    "undecodable": self._undecodable[topic],
                    "lastMinute": recent,
                    "perSecond": round(recent / RATE_WINDOW_SECONDS, 3),
                    "bucketSeconds": BUCKET_SECONDS,
                    "series": series,
                    "lastRecordAt": _iso(last) if last is not None else None,
                }
            )
        return topics


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()

"""Everything the main page shows, in one JSON document (also what the live stream sends)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import TopicPartition

from services.dashboard.lag import consumer_lag
from services.dashboard.view import PipelineView

DEAD_LETTERS_SHOWN = 20


class Feed(Protocol):
    """Where the view's records, the high watermarks and committed offsets come from."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def groups(self) -> dict[str, str]: ...

    def high_watermarks(self) -> dict[TopicPartition, int]: ...

    def committed(self) -> dict[str, dict[TopicPartition, int | None]]: ...

    def status(self) -> dict[str, Any]: ...


def lag_of(feed: Feed) -> list[dict[str, Any]]:
    return consumer_lag(feed.groups(), feed.high_watermarks(), feed.committed())


def overview(view: PipelineView, feed: Feed, now_ms: int, stuck_after_s: float) -> dict[str, Any]:
    return {
        "generatedAt": datetime.fromtimestamp(now_ms / 1000, UTC).isoformat(),
        "version": view.version,
        "feed": feed.status(),
        "subscriptions": view.subscription_count(),
        "window": view.window(),
        "duplicates": view.duplicates,
        "topics": view.rates.snapshot(now_ms),
        "lag": lag_of(feed),
        "funnel": view.funnel.snapshot(now_ms, stuck_after_s),
        "deadLetters": view.dead_letters(limit=DEAD_LETTERS_SHOWN),
    }

"""A feed of fixed broker figures, for the app without a broker."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition


class FixedFeed:
    def __init__(
        self,
        groups: dict[str, str] | None = None,
        high: dict[TopicPartition, int] | None = None,
        committed: dict[str, dict[TopicPartition, int | None]] | None = None,
        *,
        caught_up: bool = True,
    ) -> None:
        self._groups = groups or {}
        self._high = high or {}
        self._committed = committed or {}
        self.caught_up = caught_up
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def groups(self) -> dict[str, str]:
        return self._groups

    def high_watermarks(self) -> dict[TopicPartition, int]:
        return self._high

    def committed(self) -> dict[str, dict[TopicPartition, int | None]]:
        return self._committed

    def status(self) -> dict[str, Any]:
        return {"brokerConnected": True, "caughtUp": self.caught_up, "lastError": None}

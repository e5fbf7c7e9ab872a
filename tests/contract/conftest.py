"""The `store` fixture: every contract test runs once per adapter.

Both adapters get the same `FixedClock`, so the times they stamp on rows (sent,
recorded) are known to the tests and never the real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.clock import Clock, FixedClock
from shared.store.memory import MemoryStore
from shared.store.port import Store
from shared.store.sqlite import SqliteStore

CLOCK_START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)  # far from the real time on purpose


def make_store(kind: str, tmp_path: Path, clock: Clock) -> Store:
    if kind == "memory":
        return MemoryStore(clock=clock)
    # A missing parent directory on purpose: open() must create it.
    return SqliteStore(tmp_path / "data" / "store.sqlite3", clock=clock)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(CLOCK_START)


@pytest.fixture(params=["memory", "sqlite"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[Store]:
    adapter = make_store(request.param, tmp_path, clock)
    await adapter.open()
    yield adapter
    await adapter.close()

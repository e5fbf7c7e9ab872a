"""The `store` fixture: every contract test runs once per adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.store.memory import MemoryStore
from shared.store.port import Store
from shared.store.sqlite import SqliteStore


def make_store(kind: str, tmp_path: Path) -> Store:
    if kind == "memory":
        return MemoryStore()
    # A missing parent directory on purpose: open() must create it.
    return SqliteStore(tmp_path / "data" / "store.sqlite3")


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    adapter = make_store(request.param, tmp_path)
    await adapter.open()
    yield adapter
    await adapter.close()

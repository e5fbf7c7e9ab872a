"""The `store` fixture: every contract test runs once per adapter.

Adapters: memory, sqlite, mongodb (against an nx-27017 process this session starts:
see tests/support/mongodb_servers.py) and mongodb-replset (against a real MongoDB
replica set in a container, skipped with the reason where no Docker engine answers).
Each MongoDB test gets a fresh database, dropped afterwards.

Every adapter gets the same `FixedClock`, so the times they stamp on rows (sent,
recorded) are known to the tests and never the real time.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.clock import Clock, FixedClock
from shared.store.memory import MemoryStore
from shared.store.mongodb import MongoStore
from shared.store.mongodb_layout import QueryIndex
from shared.store.port import Store
from shared.store.sqlite import SqliteStore
from tests.support.mongodb_servers import (
    docker_unavailable,
    running_mongodb_replica_set,
    running_nx_27017,
)

CLOCK_START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)  # far from the real time on purpose

# "sqlite-indexed": the SQLite store with a query index for each filter the contract tests
# send, so the indexed statements must answer exactly as the walk of a collection does.
# A test sending a filter missing here fails (`store._unindexed_seen`).
CONTRACT_QUERY_SHAPES = tuple(
    QueryIndex(collection, fields)
    for collection, fields in [
        ("c", ("v",)),
        ("flags", ("f",)),
        ("items", ("kind",)),
        ("jobs", ("due",)),
        ("q", ("v",)),
        ("subs", ("end",)),
        ("subs", ("seats",)),
        ("subs", ("partner", "status", "seats")),
        ("things", ("n",)),
    ]
)
MONGODB_KINDS = {"mongodb": "nx_27017_url", "mongodb-replset": "mongodb_replset_url"}


@pytest.fixture(scope="session")
def nx_27017_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_nx_27017(tmp_path_factory.mktemp("nx-27017")) as url:
        yield url


@pytest.fixture(scope="session")
def mongodb_replset_url() -> Iterator[str]:
    reason = docker_unavailable()
    if reason is not None:
        pytest.skip(f"real MongoDB (testcontainers) skipped: {reason}")
    with running_mongodb_replica_set() as url:
        yield url


def mongodb_url(request: pytest.FixtureRequest, kind: str) -> str:
    """The server of a MongoDB kind, started on first use (so `-k memory` starts none)."""
    return str(request.getfixturevalue(MONGODB_KINDS[kind]))


def make_store(kind: str, tmp_path: Path, clock: Clock, url: str | None = None) -> Store:
    if kind == "memory":
        return MemoryStore(clock=clock)
    if kind in MONGODB_KINDS:
        assert url is not None
        return MongoStore(url, f"contract_{uuid.uuid4().hex[:16]}", clock=clock)
    # A missing parent directory on purpose: open() must create it.
    path = tmp_path / "data" / "store.sqlite3"
    if kind == "sqlite-indexed":
        return SqliteStore(path, clock=clock, query_indexes=CONTRACT_QUERY_SHAPES)
    return SqliteStore(path, clock=clock)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(CLOCK_START)


@pytest.fixture(params=["memory", "sqlite", "sqlite-indexed", "mongodb", "mongodb-replset"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[Store]:
    kind = request.param
    url = mongodb_url(request, kind) if kind in MONGODB_KINDS else None
    adapter = make_store(kind, tmp_path, clock, url)
    await adapter.open()
    try:
        yield adapter
    finally:
        if isinstance(adapter, MongoStore):
            await adapter.client.drop_database(adapter.db.name)
        await adapter.close()
    if kind == "sqlite-indexed":
        assert isinstance(adapter, SqliteStore)
        unindexed = sorted((c, sorted(f)) for c, f in adapter._unindexed_seen)
        assert not unindexed, f"add to CONTRACT_QUERY_SHAPES: {unindexed}"

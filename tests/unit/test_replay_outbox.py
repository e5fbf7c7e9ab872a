"""The outbox replay command on the stores (no broker: --store-only) and how it finds the
start of the lost broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import FixedClock
from shared.store.broker_starts import (
    BrokerStart,
    broker_starts,
    lost_broker_start,
    record_broker_start,
)
from shared.store.port import OutboxMessage
from shared.store.sqlite import SqliteStore
from tools.replay_outbox import main

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def start(minutes: int, bootstrap: str = "127.0.0.1:9092") -> BrokerStart:
    return BrokerStart(T0 + timedelta(minutes=minutes), bootstrap)


def test_starts_are_read_back_oldest_first(tmp_path: Path) -> None:
    record_broker_start(tmp_path, "h:1", at=T0 + timedelta(minutes=5))
    record_broker_start(tmp_path, "h:1", at=T0)
    assert broker_starts(tmp_path) == [BrokerStart(T0, "h:1"), start(5, "h:1")]
    assert broker_starts(tmp_path / "nothing here") == []


def test_the_lost_broker_is_the_newest_start_while_no_broker_answers() -> None:
    assert lost_broker_start([start(0), start(5)], is_up=lambda _: False) == start(5)


def test_the_lost_broker_is_the_one_before_the_newest_while_a_new_one_answers() -> None:
    assert lost_broker_start([start(0), start(5)], is_up=lambda _: True) == start(0)


def test_no_record_or_only_the_running_broker_recorded_cannot_tell() -> None:
    with pytest.raises(LookupError):
        lost_broker_start([], is_up=lambda _: False)
    with pytest.raises(LookupError):
        lost_broker_start([start(0)], is_up=lambda _: True)


async def sent_store(path: Path, clock: FixedClock, sent_at_minutes: list[int]) -> None:
    """A service's store with one row sent at each of these minutes after T0."""
    store = SqliteStore(path, clock=clock)
    await store.open()
    for minute in sent_at_minutes:
        clock.at = T0 + timedelta(minutes=minute)
        async with store.transaction() as tx:
            tx.add_outbox(OutboxMessage("t", f"k{minute}", b"x"))
            await tx.commit()
        claimed = await store.claim_outbox("relay", 10, clock.at, clock.at)
        await store.mark_sent("relay", [c.seq for c in claimed])
    await store.close()


async def pending(path: Path) -> int:
    store = SqliteStore(path)
    await store.open()
    try:
        return await store.pending_outbox()
    finally:
        await store.close()


async def test_the_command_queues_again_what_each_store_sent_since_the_lost_broker_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FixedClock(T0)
    for name, minutes in (("ordering", [1, 10]), ("provisioning", [10, 11]), ("billing", [1])):
        await sent_store(tmp_path / f"{name}.sqlite3", clock, minutes)
    record_broker_start(tmp_path, "127.0.0.1:1", at=T0)  # nothing listens on port 1
    record_broker_start(tmp_path, "127.0.0.1:1", at=T0 + timedelta(minutes=5))

    argv = ["--since-broker-start", "--store-only", "--data-dir", str(tmp_path)]
    assert await asyncio.to_thread(main, argv) == 0  # it runs its own event loop

    assert [await pending(tmp_path / f"{n}.sqlite3") for n in ("ordering", "provisioning")] == [
        1,
        2,
    ]
    assert await pending(tmp_path / "billing.sqlite3") == 0
    out = capsys.readouterr().out
    assert "started 2030-01-01T12:05:00+00:00" in out
    assert "provisioning  2 outbox rows" in out


async def test_an_explicit_instant_and_one_service(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    await sent_store(tmp_path / "billing.sqlite3", clock, [1, 2, 3])
    since = (T0 + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    argv = ["--since", since, "--service", "billing", "--store-only", "--data-dir", str(tmp_path)]
    assert await asyncio.to_thread(main, argv) == 0
    assert await pending(tmp_path / "billing.sqlite3") == 2


def test_a_missing_store_or_start_changes_nothing(tmp_path: Path) -> None:
    argv = ["--since", "2030-01-01T00:00:00", "--store-only", "--data-dir", str(tmp_path)]
    assert main(argv) == 2
    assert not (tmp_path / "ordering.sqlite3").exists()  # never created an empty store
    assert main(["--since-broker-start", "--store-only", "--data-dir", str(tmp_path)]) == 2

"""Duplicates and replays change nothing. After purchases were bought, activated and
managed (cancelled, a seat more), a random 10% of every topic's events is published
again (same envelope, same id), then one consumer group of each service is sent back to
the earliest offset. Once everything was consumed again (no consumer lag, measured on
the broker), the partner's view, every ledger and every invoice are as before, no
service emitted an event, and each service absorbed exactly the duplicates it was sent."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from shared.messaging.consumer import ConsumerGroup
from tests.e2e.processes import Actors, delivered, quick_acceptance_catalog, running_system, stop
from tools.chaos_broker import bootstrap, events
from tools.chaos_checks import converge, snapshot
from tools.chaos_duplicates import (
    Record,
    duplicates_expected,
    read_topic,
    republish_sample,
    reset_to_earliest,
)
from tools.chaos_flow import Flow, FlowDriver, cart_sizes
from tools.chaos_http import Retrying
from tools.chaos_pace import Pace
from tools.chaos_report import absorbed
from tools.chaos_system import SERVICES, System
from tools.kafka_admin import service_groups

pytestmark = pytest.mark.e2e

SUBSCRIPTIONS = 10  # 2 cancelled, 3 given a seat more, 5 kept (tools.chaos_management)
SHARE = 0.10
SEED = 20300101


async def bought_and_managed(system: System, actors: Actors, retrying: Retrying) -> Flow:
    pace = Pace.of(cart_sizes(SUBSCRIPTIONS), rounds=1)
    await pace.begin_round(0)
    driver = FlowDriver(
        actors.partner, actors.watcher, actors.publisher, retrying, pace, SUBSCRIPTIONS, 4
    )
    flow = await driver.run()
    assert flow.errors == []
    assert await converge(actors.watcher, retrying, flow) is not None, "not converged"
    await delivered(system)
    return flow


def absorbed_since(system: System, before: dict[str, int]) -> dict[str, int]:
    now = absorbed(system)
    return {name: now[name] - before[name] for name in SERVICES}


def expected(groups: dict[str, ConsumerGroup], records: dict[str, list[Record]]) -> dict[str, int]:
    return {name: duplicates_expected(g, records.get(g.topic, [])) for name, g in groups.items()}


async def test_copies_and_a_group_reset_to_the_earliest_offset_are_absorbed_and_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSP_CATALOG", str(quick_acceptance_catalog(tmp_path / "catalog.json")))
    async with running_system(tmp_path / "system") as (system, actors):
        retrying = Retrying(after_failure=system.check_alive)
        flow = await bought_and_managed(system, actors, retrying)
        before = await snapshot(actors.watcher, retrying, flow)
        emitted = events(system)
        broker = bootstrap(system)
        groups = service_groups()  # one consumer group of each service
        topics = sorted({g.topic for g in groups.values()} | {"billing.ledger"})

        skipped = absorbed(system)
        copies = await republish_sample(broker, topics, SHARE, random.Random(SEED))
        await delivered(system)
        from_copies = absorbed_since(system, skipped)
        assert from_copies == expected(groups, copies)

        skipped = absorbed(system)
        for name in groups:  # one consumer group of each service, back to offset 0
            stop(system, name)
        await asyncio.gather(*(reset_to_earliest(broker, g.name, g.topic) for g in groups.values()))
        await asyncio.gather(*(system.start(name) for name in groups))
        await delivered(system)
        from_reset = absorbed_since(system, skipped)
        on_topics = {topic: await read_topic(broker, topic) for topic in topics}
        assert from_reset == expected(groups, on_topics)  # originals and copies, again

        assert await snapshot(actors.watcher, retrying, flow) == before
        assert events(system) == emitted  # nothing new was decided
        copied = {topic: len(records) for topic, records in copies.items()}
        print(
            f"\n{sum(len(r) for r in on_topics.values())} records on {topics}; copies {copied};"
            f" duplicates absorbed: from the copies {from_copies}, from the groups reset"
            f" {from_reset}"
        )

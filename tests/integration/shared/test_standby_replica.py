"""Topics are created with the service's partition count before it joins, and a replica
beyond the partition count stands by: a member of the group, ready, holding nothing,
until the replica holding the partition leaves (the real app, lifespan and broker)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.billing.bootstrap import build_app
from services.billing.settings import BillingSettings
from shared.events.topics import PROVISIONING_SUBSCRIPTIONS
from shared.messaging.topic_admin import TopicAdmin
from tests.support.polling import eventually
from tests.unit.ordering.helpers import SETTINGS

pytestmark = pytest.mark.broker


async def readiness(app: FastAPI) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://b") as http:
        response = await http.get("/readyz")
        return {"code": response.status_code, **response.json()}


def partitions(ready: dict[str, Any]) -> list[int]:
    [group] = ready["consumers"]
    return group["partitions"]


async def test_the_second_replica_on_one_partition_stands_by_ready_then_takes_over(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = BillingSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        csp_data_dir=tmp_path,  # one SQLite file for both: replicas share the store
        csp_jwt_secret=SETTINGS.csp_jwt_secret,
        csp_topic_partitions=1,
    )
    first, second = build_app(settings), build_app(settings)
    lifespans = [AsyncExitStack(), AsyncExitStack()]  # each app's, closed on its own
    admin = TopicAdmin(kafka_bootstrap, "test")
    try:
        await lifespans[0].enter_async_context(first.router.lifespan_context(first))
        await eventually(lambda: readiness(first), lambda r: r["code"] == 200, timeout=60)
        described = await admin._connected()  # the topic as billing created it
        [topic] = await described.describe_topics([PROVISIONING_SUBSCRIPTIONS])
        assert len(topic["partitions"]) == 1
        assert await admin.ensure([PROVISIONING_SUBSCRIPTIONS], 4) == []  # exists: kept

        await lifespans[1].enter_async_context(second.router.lifespan_context(second))
        # Both members of the group after the rebalance: one holds the partition, the
        # other none, and both are ready.
        both = await eventually(
            lambda: _both(first, second),
            lambda r: (
                r[0]["code"] == r[1]["code"] == 200
                and sorted(partitions(r[0]) + partitions(r[1])) == [0]
            ),
            timeout=60,
            what="one replica holding the partition, the other standing by",
        )
        assert [g["joined"] for r in both for g in r["consumers"]] == [True, True]
        assert len(await admin.group_members(both[0]["consumers"][0]["group"])) == 2

        held_by = 0 if partitions(both[0]) else 1
        await lifespans[held_by].aclose()  # it stops and leaves the group
        standby = (first, second)[1 - held_by]
        await eventually(
            lambda: readiness(standby),
            lambda r: r["code"] == 200 and partitions(r) == [0],
            timeout=60,
            what="the standby holding the partition",
        )
    finally:
        for lifespan in lifespans:
            await lifespan.aclose()
        await admin.close()


async def _both(first: FastAPI, second: FastAPI) -> tuple[dict[str, Any], dict[str, Any]]:
    return await readiness(first), await readiness(second)

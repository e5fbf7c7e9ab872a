"""Scale-out: two processes of every service, one consumer group and one SQLite file
each, share the partitions; losing one replica of each mid-flow loses no event and
charges nothing twice (README, "Scaling out")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.http.auth import mint_token
from shared.settings import DEV_JWT_SECRET
from tests.e2e.actors import Partner, Publisher
from tests.e2e.processes import LINE, delivered, until
from tools.chaos_system import SERVICES, System

pytestmark = pytest.mark.e2e

PARTITIONS = 4  # the services' default: CSP_TOPIC_PARTITIONS
BEFORE_KILL, AFTER_KILL = 8, 4  # purchases bought before and after the kill


@asynccontextmanager
async def two_replicas_each(workdir: Path) -> AsyncIterator[System]:
    system = System(workdir, DEV_JWT_SECRET, replicas=2)
    try:
        await system.start_all()
        yield system
    finally:
        system.stop_all()


async def readiness(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=2) as client:
        return (await client.get(f"{url}/readyz")).json()


async def split_between_replicas(system: System, service: str) -> bool:
    """Both replicas ready, each holding some partitions of every group, none twice."""
    first = await readiness(system.url(service))
    second = await readiness(system.url(f"{service}-2"))
    if first.get("status") != "ready" or second.get("status") != "ready":
        return False
    for a, b in zip(first["consumers"], second["consumers"], strict=True):
        mine, theirs = set(a["partitions"]), set(b["partitions"])
        if not mine or not theirs or mine & theirs or mine | theirs != set(range(PARTITIONS)):
            return False
    return True


async def holds_every_partition(system: System, service: str) -> bool:
    """The surviving replica took the dead one's partitions over, in every group."""
    groups = (await readiness(system.url(service))).get("consumers", [])
    return bool(groups) and all(set(g["partitions"]) == set(range(PARTITIONS)) for g in groups)


def partner(system: System, replica: str = "") -> Partner:
    token = mint_token(DEV_JWT_SECRET, {"sub": "e2e", "partnerId": "e2e", "roles": ["GlobalAdmin"]})
    return Partner(system.url(f"ordering{replica}"), system.url(f"billing{replica}"), token)


def publisher(system: System, replica: str = "") -> Publisher:
    token = mint_token(DEV_JWT_SECRET, {"sub": "contoso-app", "publisherId": "contoso"})
    return Publisher(system.url(f"provisioning{replica}"), token)


async def buy(buyer: Partner) -> tuple[str, str]:
    cid, order = await buyer.buy({**LINE, "quantity": 2})
    return cid, order["lineItems"][0]["subscriptionId"]


async def charged(reader: Partner, cid: str, sid: str) -> int:
    return int((await reader.ledger(cid, sid))["totalCount"])


async def activate(reader: Partner, app: Publisher, cid: str, sid: str) -> None:
    async def link() -> str | None:
        return (await reader.subscription(cid, sid))["activationLink"]

    await app.resolve(await until(link, f"activation link of {sid}"))
    assert (await app.assign_licenses(sid, "ann")).status_code == 200
    assert (await app.activate(sid, "standard", 2)).status_code == 200


async def test_two_replicas_share_the_partitions_and_losing_one_of_each_charges_once(
    tmp_path: Path,
) -> None:
    async with two_replicas_each(tmp_path) as system:
        for service in SERVICES:
            await until(
                lambda s=service: split_between_replicas(system, s),
                f"{service}'s partitions split between its two replicas",
            )
        partners = [partner(system), partner(system, "-2")]
        publishers = [publisher(system), publisher(system, "-2")]
        try:
            # Purchases through both ordering replicas, activated through both
            # provisioning replicas, until every replica of every service has handled an
            # event: keys hash to partitions, so which replica a purchase reaches is chance.
            bought: list[tuple[str, str]] = []

            async def every_replica_worked() -> bool:
                i = len(bought)
                cid, sid = await buy(partners[i % 2])
                await activate(partners[0], publishers[i % 2], cid, sid)
                bought.append((cid, sid))
                return len(bought) >= BEFORE_KILL // 2 and all(
                    system.count_in_logs(name, "event_handled") > 0
                    for service in SERVICES
                    for name in (service, f"{service}-2")
                )

            await until(every_replica_worked, "every replica handling events", limit_s=120)
            # Mid-flow: purchases just bought, their events on the way, when one of each dies.
            pending = [await buy(partners[i % 2]) for i in range(BEFORE_KILL // 2)]
            for service in SERVICES:
                system.kill(f"{service}-2")
            survivors = partners[0], publishers[0]
            pending += [await buy(survivors[0]) for _ in range(AFTER_KILL)]
            await asyncio.gather(*(activate(*survivors, cid, sid) for cid, sid in pending))
            bought += pending

            async def all_charged() -> bool:
                counts = [await charged(survivors[0], cid, sid) for cid, sid in bought]
                return all(count >= 1 for count in counts)

            await until(all_charged, "a charge for every purchase", limit_s=120)
            for service in SERVICES:
                await until(
                    lambda s=service: holds_every_partition(system, s),
                    f"{service}'s survivor holding every partition",
                )
            await delivered(system)  # nothing left in an outbox or behind on a topic
            counts = [await charged(survivors[0], cid, sid) for cid, sid in bought]
            assert counts == [1] * len(bought)  # exactly one, after everything arrived
        finally:
            for client in (*partners, *publishers):
                await client.close()

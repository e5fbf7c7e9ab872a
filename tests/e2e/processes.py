"""The system as the chaos runs it (tools.chaos_system: the broker and each service a
process of its own, killable one by one), for the tests that kill or restart parts of it.
Not `services.launcher`: under honcho the broker's death stops everything."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from shared.catalog import load_catalog
from shared.http.auth import mint_token
from shared.settings import DEV_JWT_SECRET
from tests.e2e.actors import Partner, Publisher
from tools.chaos_broker import wait_drained
from tools.chaos_system import System

LINE = {
    "offerId": "contoso-crm",
    "planId": "standard",
    "termDuration": "P1M",
    "billingCycle": "monthly",
}
WAIT_S = 60.0
T = TypeVar("T")


def quick_acceptance_catalog(path: Path) -> Path:
    """The shipped catalog, a seat change accepted by silence after 1 s (not 10): what the
    flow of tools.chaos_management waits for."""
    document = load_catalog().model_dump(mode="json", by_alias=True)
    for offer in document["offers"]:
        offer["acceptanceTimeout"] = "PT1S"
    path.write_text(json.dumps(document))
    return path


@dataclass(frozen=True)
class Actors:
    partner: Partner
    watcher: Partner  # the same partner, its own connection pool: reads while it polls
    publisher: Publisher


@asynccontextmanager
async def running_system(workdir: Path) -> AsyncIterator[tuple[System, Actors]]:
    system = System(workdir, DEV_JWT_SECRET)
    try:
        await system.start_all()
        token = mint_token(
            DEV_JWT_SECRET, {"sub": "e2e", "partnerId": "e2e", "roles": ["GlobalAdmin"]}
        )
        actors = Actors(
            Partner(system.url("ordering"), system.url("billing"), token),
            Partner(system.url("ordering"), system.url("billing"), token),
            Publisher(
                system.url("provisioning"),
                mint_token(DEV_JWT_SECRET, {"sub": "contoso-app", "publisherId": "contoso"}),
            ),
        )
        try:
            yield system, actors
        finally:
            for client in (actors.partner, actors.watcher, actors.publisher):
                await client.close()
    finally:
        system.stop_all()


async def until(probe: Callable[[], Awaitable[T | None]], what: str, limit_s: float = WAIT_S) -> T:
    """Poll `probe()` until it returns something truthy; that value."""
    deadline = time.monotonic() + limit_s
    while not (value := await probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {limit_s:.0f} s")
        await asyncio.sleep(0.1)
    return value


async def buy_and_activate(actors: Actors, quantity: int = 2) -> tuple[str, str]:
    """One purchase, activated by the publisher as soon as its link shows: (cid, sid)."""
    partner, publisher = actors.partner, actors.publisher
    cid, order = await partner.buy({**LINE, "quantity": quantity})
    sid = order["lineItems"][0]["subscriptionId"]

    async def link() -> str | None:
        return (await partner.subscription(cid, sid))["activationLink"]

    await publisher.resolve(await until(link, f"activation link of {sid}"))
    assert (await publisher.assign_licenses(sid, "ann")).status_code == 200
    assert (await publisher.activate(sid, "standard", quantity)).status_code == 200
    return cid, sid


async def charges(actors: Actors, cid: str, sid: str) -> int:
    """How many ledger lines billing holds for the subscription (0: none, or unknown)."""
    return int((await actors.partner.ledger(cid, sid))["totalCount"])


async def delivered(system: System) -> None:
    """Until no outbox row is unsent and no consumer group lags (tools.chaos_broker)."""
    assert await wait_drained(system, limit_s=WAIT_S) is not None, "not drained in time"


def stop(system: System, name: str) -> None:
    """SIGTERM: the service finishes what it handles, commits, leaves its consumer group."""
    service = system.services[name]
    assert service.process is not None
    service.killed_on_purpose = True  # down on purpose: check_alive must not complain
    service.process.send_signal(signal.SIGTERM)
    service.process.wait(timeout=30)

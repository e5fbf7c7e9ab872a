"""The measured flow, as the two outside actors drive it over HTTP.

One partner buys N subscriptions (carts of CART_LINES lines, C checkouts in flight);
one poller reads the customer's pending subscriptions until each activation link shows;
C publisher workers then resolve, assign licenses and activate; one poller reads the
customer's invoices until each subscription's charge shows. The stages overlap, as they would in production.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.e2e.actors import Partner, Publisher
from tests.e2e.conftest import System

T = TypeVar("T")

POLL_S = 0.020  # one list poll per stage: the resolution of the eventually-consistent latencies
WAIT_S = 120.0  # one subscription's longest wait for a state before it counts as failed
CART_LINES = 5
SETTLE_S = 1.0  # after the last charge, room for a wrong second charge to show up
# contoso-crm / standard / P1M / monthly costs 10.00 USD per seat and month (default catalog)
LINE = {
    "offerId": "contoso-crm",
    "planId": "standard",
    "termDuration": "P1M",
    "billingCycle": "monthly",
}
PRICE_MINOR = 1000


def now() -> float:
    return time.perf_counter()


@dataclass
class Sub:
    sid: str
    quantity: int
    purchased: float  # checkout answer received
    link: str = ""
    activated: float = 0.0  # activate answer received
    charged: float = 0.0  # first poll that showed the charge


@dataclass
class Measured:
    cid: str = ""
    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    subs: list[Sub] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    polls: int = 0
    carts: int = 0
    checkout_wall_s: float = 0.0
    flow_wall_s: float = 0.0  # first checkout sent -> last charge seen
    client_cpu_s: float = 0.0  # this process's CPU time while driving the flow
    invoices: int | None = None
    charged_right: int = 0

    def sample(self, name: str, since: float) -> None:
        self.ms[name].append((now() - since) * 1000)


async def run_flow(system: System, n: int, c: int) -> Measured:
    m = Measured()
    token = system.partner_token("bench-partner")
    # Two clients (connection pools) for one partner: the buyer's calls do not queue
    # in the client behind the status polling, only where they really compete (server, CPU).
    partner = Partner(system.ordering, system.billing, token)
    watcher = Partner(system.ordering, system.billing, token)
    publisher = Publisher(system.provisioning, system.publisher_token("contoso"))
    try:
        cpu = time.process_time()
        await _drive(m, partner, watcher, publisher, n, c)
        m.client_cpu_s = time.process_time() - cpu
        await asyncio.sleep(SETTLE_S)
        await _verify(m, partner, n)
    finally:
        await partner.close()
        await watcher.close()
        await publisher.close()
    return m


async def _drive(
    m: Measured, partner: Partner, watcher: Partner, publisher: Publisher, n: int, c: int
) -> None:
    ordering = partner.ordering
    customer = await ordering.post(
        "/v1/customers", json={"companyName": "Bench", "domain": "bench.example"}
    )
    customer.raise_for_status()
    cid = m.cid = customer.json()["id"]
    carts = []
    for first in range(0, n, CART_LINES):
        lines = [
            {**LINE, "quantity": 1 + i % 5, "friendlyName": f"bench {i}"}
            for i in range(first, min(n, first + CART_LINES))
        ]
        cart = await ordering.post(f"/v1/customers/{cid}/carts", json={"lineItems": lines})
        cart.raise_for_status()
        carts.append(cart.json()["id"])
    m.carts = len(carts)

    ready: asyncio.Queue[Sub | None] = asyncio.Queue()
    awaiting_link: dict[str, Sub] = {}
    awaiting_charge: dict[str, Sub] = {}
    done = asyncio.Event()  # every purchase has its charge, or gave up

    async def watch(
        what: str,
        path: str,
        params: dict[str, str],
        awaiting: dict[str, Sub],
        seen: Callable[[dict[str, Any]], list[tuple[str, Any]]],
        on_seen: Callable[[Sub, Any], Awaitable[None]],
    ) -> None:
        """One list poll every POLL_S for the whole customer (not one per subscription,
        which would load the server with the benchmark's own polling)."""
        client = watcher.billing if what == "charge" else watcher.ordering
        while not done.is_set():
            if awaiting:
                m.polls += 1
                started = now()
                try:
                    response = await client.get(path, params=params)
                    m.sample(f"poll GET ({what} list)", started)
                    for sid, value in seen(response.json()):
                        if (sub := awaiting.pop(sid, None)) is not None:
                            await on_seen(sub, value)
                except Exception as error:
                    m.errors.append(f"polling for {what} failed: {error!r}")
                for sid, sub in list(awaiting.items()):
                    since = sub.activated if what == "charge" else sub.purchased
                    if now() - since > WAIT_S:
                        m.errors.append(f"{sid}: {what} not visible within {WAIT_S:.0f} s")
                        del awaiting[sid]
            await asyncio.sleep(POLL_S)

    def links(page: dict[str, Any]) -> list[tuple[str, Any]]:
        return [(s["id"], s["activationLink"]) for s in page["items"] if s["actionNeeded"]]

    def charged(page: dict[str, Any]) -> list[tuple[str, Any]]:
        return [(line["subscriptionId"], None) for i in page["items"] for line in i["lineItems"]]

    async def on_link(sub: Sub, link: str) -> None:
        sub.link = link
        m.sample("purchase -> link visible", sub.purchased)
        await ready.put(sub)

    async def on_charge(sub: Sub, _: Any) -> None:
        sub.charged = now()
        m.sample("activate -> charge visible", sub.activated)

    watchers = [
        asyncio.create_task(
            watch(
                "activation link",
                f"/v1/customers/{cid}/subscriptions",
                {"status": "pending"},
                awaiting_link,
                links,
                on_link,
            )
        ),
        asyncio.create_task(
            watch(
                "charge", "/v1/invoices", {"customerId": cid}, awaiting_charge, charged, on_charge
            )
        ),
    ]

    async def checkout(cart_id: str, slots: asyncio.Semaphore) -> None:
        async with slots:
            started = now()
            try:
                response = await ordering.post(f"/v1/customers/{cid}/carts/{cart_id}/checkout")
            except Exception as error:
                m.errors.append(f"checkout of cart {cart_id} failed: {error!r}")
                return
            m.sample("checkout (POST, <=5 lines)", started)
        if response.status_code != 201:
            m.errors.append(f"checkout of cart {cart_id}: {response.status_code} {response.text}")
            return
        for line in response.json()["orders"][0]["lineItems"]:
            sub = Sub(line["subscriptionId"], line["quantity"], now())
            m.subs.append(sub)
            awaiting_link[sub.sid] = sub

    async def publisher_worker() -> None:
        while (sub := await ready.get()) is not None:
            try:
                started = now()
                resolved = await publisher.resolve(sub.link)  # asserts 200
                m.sample("resolve", started)
                if resolved["id"] != sub.sid:
                    raise AssertionError(f"resolved to {resolved['id']}")
                started = now()
                users = [f"user{k}" for k in range(sub.quantity)]
                licenses = await publisher.assign_licenses(sub.sid, *users)
                m.sample("licenses", started)
                if licenses.status_code != 200:
                    raise AssertionError(f"licenses: {licenses.status_code} {licenses.text}")
                started = now()
                activate = await publisher.activate(sub.sid, LINE["planId"], sub.quantity)
                sub.activated = now()
                m.sample("activate", started)
                if activate.status_code != 200:
                    raise AssertionError(f"activate: {activate.status_code} {activate.text}")
                awaiting_charge[sub.sid] = sub
            except Exception as error:  # one subscription's failure is reported, the run goes on
                m.errors.append(f"{sub.sid}: publisher step failed: {error!r}")

    workers = [asyncio.create_task(publisher_worker()) for _ in range(c)]
    first = now()
    slots = asyncio.Semaphore(c)
    await asyncio.gather(*(checkout(cart_id, slots) for cart_id in carts))
    m.checkout_wall_s = now() - first
    while awaiting_link or not ready.empty():  # noqa: ASYNC110 - the pollers drain these
        await asyncio.sleep(POLL_S)
    for _ in workers:
        await ready.put(None)
    await asyncio.gather(*workers)
    while awaiting_charge:  # noqa: ASYNC110
        await asyncio.sleep(POLL_S)
    done.set()
    await asyncio.gather(*watchers)
    m.flow_wall_s = max((s.charged for s in m.subs), default=first) - first


async def _verify(m: Measured, partner: Partner, n: int) -> None:
    """Exactly one charge of quantity x price per subscription; N invoices for the customer."""
    cid = m.cid
    invoice_ids: set[str] = set()
    if len(m.subs) != n:
        m.errors.append(f"{len(m.subs)} subscriptions were bought, expected {n}")
    for sub in m.subs:
        response = await partner.charges(cid, sub.sid)
        if response.status_code != 200:
            m.errors.append(f"{sub.sid}: charges answered {response.status_code}")
            continue
        items = response.json()["items"]
        invoice_ids.update(i["invoiceId"] for i in items)
        cents = sub.quantity * PRICE_MINOR
        want = f"{cents // 100}.{cents % 100:02d}"
        got = [(i["type"], i["amount"], i["currency"]) for i in items]
        if got != [("charge", want, "USD")]:
            m.errors.append(f"{sub.sid}: charges {got}, expected one ('charge', {want!r}, 'USD')")
            continue
        m.charged_right += 1
    invoices = await partner.billing.get("/v1/invoices", params={"customerId": cid})
    invoices.raise_for_status()
    listed = {i["id"] for i in invoices.json()["items"]}
    m.invoices = invoices.json()["totalCount"]
    if m.invoices != n:
        m.errors.append(f"{m.invoices} invoices for the customer, expected {n}")
    if listed != invoice_ids:
        m.errors.append(f"the charges name {len(invoice_ids)} invoices, the list has {len(listed)}")

"""The flow of benchmarks/flow.py (a partner buys, a publisher activates each purchase as
soon as its link shows), driven through a system whose services keep dying; once active,
some purchases are cancelled or get another seat (tools.chaos_management).

Differences from the benchmark, all because of the chaos: every call is retried until
its service answers (tools.chaos_http); a "conflict"/"already activated" answer is
accepted only after a cut-off attempt and only when the state confirms that attempt
took effect; and the buyer checks out its carts in shares, one per chaos round
(tools.chaos_pace), so that work is in flight when each kill lands.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from benchmarks.flow import CART_LINES, LINE
from tests.e2e.actors import Partner, Publisher
from tools.chaos_http import Retrying
from tools.chaos_management import Change, ManagementError, Manager, planned_change
from tools.chaos_pace import Pace, share_of

POLL_S = 0.1  # list polls: this run is about correctness, not latency
LINK_LIMIT_S = 180.0  # checkout -> activation link visible; longer means it was lost


class FlowError(Exception):
    """An unexpected answer (a 4xx): one purchase's, reported while the run goes on, or
    the whole flow's (customer, carts, the link poll), which stops it."""


@dataclass
class Purchase:
    sid: str
    quantity: int
    share: int  # the chaos round in which it was bought
    bought_at: float  # time.monotonic()
    change: Change = "keep"  # what the partner does to it once it is active
    link: str = ""
    activated: bool = False
    changed: bool = False


@dataclass
class Flow:
    cid: str = ""
    purchases: dict[str, Purchase] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # Answers of a retried call that were the cut-off attempt's doing, confirmed by state.
    recovered: Counter[str] = field(default_factory=Counter)
    last_activation: float | None = None  # time.monotonic()

    def progress(self) -> str:
        links = sum(1 for p in self.purchases.values() if p.link)
        activated = sum(1 for p in self.purchases.values() if p.activated)
        changed = sum(1 for p in self.purchases.values() if p.changed)
        return (
            f"{len(self.purchases)} bought, {links} links, {activated} activated, {changed} changed"
        )


def cart_sizes(n: int) -> list[int]:
    """N purchase lines in carts of CART_LINES, as in the benchmark."""
    return [min(CART_LINES, n - first) for first in range(0, n, CART_LINES)]


@dataclass
class FlowDriver:
    buyer: Partner
    watcher: Partner  # its own connection pool: polling does not queue behind the buyer
    publisher: Publisher
    retrying: Retrying
    pace: Pace
    n: int
    c: int
    flow: Flow = field(default_factory=Flow)
    _ready: asyncio.Queue[Purchase | None] = field(default_factory=asyncio.Queue)
    _awaiting_link: dict[str, Purchase] = field(default_factory=dict)
    _managing: list[asyncio.Task[None]] = field(default_factory=list)

    async def run(self) -> Flow:
        self.flow.cid = await self._create_customer()
        carts = await self._create_carts()
        watch = asyncio.create_task(self._watch_links())
        workers = [asyncio.create_task(self._publisher_worker()) for _ in range(self.c)]
        slots = asyncio.Semaphore(self.c)
        await asyncio.gather(
            *(self._checkout(i, cart, len(carts), slots) for i, cart in enumerate(carts))
        )
        await self._links_handed_out(watch)
        for _ in workers:
            await self._ready.put(None)
        await asyncio.gather(*workers)
        await asyncio.gather(*self._managing)
        watch.cancel()
        self.flow.last_activation = time.monotonic()
        return self.flow

    async def _links_handed_out(self, watch: asyncio.Task[None]) -> None:
        while self._awaiting_link:
            if watch.done():  # the watcher failed: its exception, not an endless wait
                await watch
            await asyncio.sleep(POLL_S)

    async def _created(self, what: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A create call: a cut-off attempt may leave an orphan (an unused customer or
        cart) behind, which no check counts, so a plain retry is right here."""
        sent = await self.retrying.request(what, lambda: self.buyer.ordering.post(path, json=body))
        if sent.value.status_code != 201:
            raise FlowError(f"{what}: {sent.value.status_code} {sent.value.text}")
        return dict(sent.value.json())

    async def _create_customer(self) -> str:
        body = {"companyName": "Chaos", "domain": "chaos.example"}
        return str((await self._created("create customer", "/v1/customers", body))["id"])

    async def _create_carts(self) -> list[str]:
        carts: list[str] = []
        first = 0
        for size in cart_sizes(self.n):
            lines = [
                {**LINE, "quantity": 1 + i % 5, "friendlyName": f"chaos {i}"}
                for i in range(first, first + size)
            ]
            first += size
            path = f"/v1/customers/{self.flow.cid}/carts"
            cart = await self._created(f"create cart {len(carts)}", path, {"lineItems": lines})
            carts.append(str(cart["id"]))
        return carts

    async def _checkout(self, i: int, cart_id: str, carts: int, slots: asyncio.Semaphore) -> None:
        share = share_of(i, carts, len(self.pace.share_sizes))
        await self.pace.wait_for_round(share)
        async with slots:
            try:
                lines = await self._place_order(cart_id)
            except FlowError as error:
                self.flow.errors.append(str(error))
                return
        for line in lines:
            purchase = Purchase(line["subscriptionId"], line["quantity"], share, time.monotonic())
            purchase.change = planned_change(len(self.flow.purchases))
            self.flow.purchases[purchase.sid] = purchase
            self._awaiting_link[purchase.sid] = purchase

    async def _place_order(self, cart_id: str) -> list[dict[str, Any]]:
        cart_path = f"/v1/customers/{self.flow.cid}/carts/{cart_id}"
        sent = await self.retrying.request(
            f"checkout {cart_id}", lambda: self.buyer.ordering.post(f"{cart_path}/checkout")
        )
        answer = sent.value
        if answer.status_code == 201:
            return list(answer.json()["orders"][0]["lineItems"])
        if answer.status_code == 409 and sent.maybe_applied_before:
            # The cut-off attempt placed the order; its answer died with the process.
            lines = await self._placed_order_lines(cart_path)
            self.flow.recovered["checkout 409 (order already placed)"] += 1
            return lines
        raise FlowError(f"checkout of cart {cart_id}: {answer.status_code} {answer.text}")

    async def _placed_order_lines(self, cart_path: str) -> list[dict[str, Any]]:
        cart = await self._read(cart_path)
        if cart["status"] != "ordered" or not cart["orderId"]:
            raise FlowError(f"checkout answered 409 but {cart_path} is {cart['status']}")
        order = await self._read(f"/v1/customers/{self.flow.cid}/orders/{cart['orderId']}")
        return list(order["lineItems"])

    async def _read(self, path: str) -> dict[str, Any]:
        sent = await self.retrying.request(f"GET {path}", lambda: self.buyer.ordering.get(path))
        if sent.value.status_code != 200:
            raise FlowError(f"GET {path}: {sent.value.status_code} {sent.value.text}")
        return dict(sent.value.json())

    async def _watch_links(self) -> None:
        """One list poll for the whole customer, as in the benchmark."""
        path = f"/v1/customers/{self.flow.cid}/subscriptions"
        while True:
            if self._awaiting_link:
                sent = await self.retrying.request(
                    "poll links",
                    lambda: self.watcher.ordering.get(path, params={"status": "pending"}),
                )
                if sent.value.status_code != 200:
                    raise FlowError(f"poll links: {sent.value.status_code} {sent.value.text}")
                for item in sent.value.json()["items"]:
                    purchase = self._awaiting_link.get(item["id"])
                    if purchase is not None and item["actionNeeded"]:
                        del self._awaiting_link[purchase.sid]
                        purchase.link = item["activationLink"]
                        await self._ready.put(purchase)
                self._give_up_on_late_links()
            await asyncio.sleep(POLL_S)

    def _give_up_on_late_links(self) -> None:
        for sid, purchase in list(self._awaiting_link.items()):
            if time.monotonic() - purchase.bought_at > LINK_LIMIT_S:
                self.flow.errors.append(f"{sid}: no activation link within {LINK_LIMIT_S:.0f} s")
                del self._awaiting_link[sid]

    async def _publisher_worker(self) -> None:
        while (purchase := await self._ready.get()) is not None:
            try:
                await self._fulfil(purchase)
                purchase.activated = True
                await self.pace.activated(purchase.share)
            except (AssertionError, FlowError) as error:  # reported; the run goes on
                self.flow.errors.append(f"{purchase.sid}: publisher step failed: {error}")
                continue
            # Managed on the side: a worker waiting for the partner view would slow
            # activations and so shift the kills the pace ties to them.
            self._managing.append(asyncio.create_task(self._manage(purchase)))

    async def _manage(self, purchase: Purchase) -> None:
        manager = Manager(self.buyer, self.retrying, self.flow.cid)
        try:
            await manager.apply(purchase.sid, purchase.change, purchase.quantity)
            purchase.changed = purchase.change != "keep"
        except ManagementError as error:
            self.flow.errors.append(str(error))

    async def _fulfil(self, purchase: Purchase) -> None:
        sid = purchase.sid
        resolved = await self.retrying.call(
            f"resolve {sid}", lambda: self.publisher.resolve(purchase.link)
        )  # Publisher.resolve asserts the 200
        if resolved.value["id"] != sid:
            raise FlowError(f"the link resolved to {resolved.value['id']}")
        users = [f"user{k}" for k in range(purchase.quantity)]
        # Idempotent (the same set again changes nothing), so any retry must answer 200.
        licenses = await self.retrying.request(
            f"licenses {sid}", lambda: self.publisher.assign_licenses(sid, *users)
        )
        if licenses.value.status_code != 200:
            raise FlowError(f"licenses: {licenses.value.status_code} {licenses.value.text}")
        await self._activate(purchase)

    async def _activate(self, purchase: Purchase) -> None:
        sid, plan = purchase.sid, LINE["planId"]
        sent = await self.retrying.request(
            f"activate {sid}", lambda: self.publisher.activate(sid, plan, purchase.quantity)
        )
        answer = sent.value
        if answer.status_code == 200:
            return
        if answer.status_code == 400 and sent.maybe_applied_before and await self._subscribed(sid):
            self.flow.recovered["activate 400 (already activated)"] += 1
            return  # the cut-off attempt did it
        raise FlowError(f"activate: {answer.status_code} {answer.text}")

    async def _subscribed(self, sid: str) -> bool:
        path = f"/api/saas/subscriptions/{sid}"
        sent = await self.retrying.request(f"GET {path}", lambda: self.publisher.api.get(path))
        return sent.value.status_code == 200 and (
            sent.value.json().get("saasSubscriptionStatus") == "Subscribed"
        )

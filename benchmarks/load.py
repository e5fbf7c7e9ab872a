"""The load generator: a partner buys over ordering's HTTP API; a publisher resolves the
token, assigns licenses and activates over provisioning's HTTP API; billing's charge
completes the activation.

What the client waits on comes from the broker, not from polling: the activation link
from provisioning's `ActivationLinkIssued` and the charge from billing's `ChargePosted`
(`kafka_watch.TopicTail`; a record is published only after its producer committed,
so it is seen at or after the fact became visible over HTTP). The partner's own view
of the link, for the `purchase -> link visible` latency in the fixed-rate phase: the
moment ordering stored it, stamped on ordering's `subscriptions.state` record of the
partner part (written in the same transaction), and confirmed by one GET of the
subscription over ordering's HTTP API. The charges are checked over billing's HTTP API
at the end (`verify`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiokafka import ConsumerRecord

from benchmarks.client import PartnerClient, PublisherClient
from benchmarks.flow import CART_LINES, LINE, PRICE_MINOR
from benchmarks.stats import rate_in_window, summary
from shared.events.topics import (
    BILLING_LEDGER,
    ORDERING_SUBSCRIPTIONS,
    PROVISIONING_SUBSCRIPTIONS,
    SUBSCRIPTIONS_STATE,
)

# Which service publishes each topic (for the outbox relay delay, by producer).
PRODUCER = {
    ORDERING_SUBSCRIPTIONS: "ordering",
    PROVISIONING_SUBSCRIPTIONS: "provisioning",
    BILLING_LEDGER: "billing",
}
TOPICS = tuple(PRODUCER)  # tailed at once: their records' arrival times are measured
# Tailed lazily (fetches of >= STATE_FETCH_BYTES or every STATE_FETCH_WAIT_MS): what counts
# is each record's own time, and fewer fetches keep the observer off the broker's CPU.
STATE_TOPIC = SUBSCRIPTIONS_STATE
STATE_FETCH_WAIT_MS = 250
STATE_FETCH_BYTES = 256 * 1024
PARTNER_PART = b"/partner"  # the key's suffix of ordering's part of subscriptions.state
VIEW_POLL_S = 0.020  # how often the links ordering stored are confirmed over HTTP
SAMPLE_RECORDS = 400  # real records kept for the raw chain's message sizes


def now() -> float:
    return time.perf_counter()


@dataclass
class Sub:
    sid: str
    quantity: int
    cid: str
    phase: str
    purchased: float  # checkout answer received
    link: str = ""
    link_issued: float = 0.0  # ActivationLinkIssued received from the topic
    link_stored: float = 0.0  # ordering stored the link (its state record's time)
    link_visible: float = 0.0  # link_stored, once a GET of the partner's view showed it
    activated: float = 0.0  # activate answer received
    charged: float = 0.0  # ChargePosted received from the topic
    failed: bool = False

    @property
    def finished(self) -> bool:
        return self.failed or self.charged > 0


@dataclass
class Flow:
    partner: PartnerClient
    publisher: PublisherClient
    subs: dict[str, Sub] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    ms: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    ready: asyncio.Queue[Sub] = field(default_factory=asyncio.Queue)
    publishing: asyncio.Event = field(default_factory=asyncio.Event)  # cleared: hold activations
    on_finished: Callable[[Sub], None] | None = None
    # Facts seen on a topic before the client registered the subscription (its HTTP
    # answer was still on the way): applied at registration.
    _early_links: dict[str, tuple[str, float]] = field(default_factory=dict)
    _early_charges: dict[str, float] = field(default_factory=dict)
    _early_stored: dict[str, float] = field(default_factory=dict)
    # Wall clock (record times) to the perf_counter clock of every other stamp.
    _wall_minus_perf: float = field(default_factory=lambda: time.time() - time.perf_counter())
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    # Relay delay sampling: producer -> [(ce-id, record timestamp ms, event time ms)]
    sampling_relay: bool = False
    relay: dict[str, list[tuple[str, int, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    samples: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = field(default_factory=list)
    workers: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.publishing.set()

    # -- what the broker tells ---------------------------------------------------------

    def on_record(self, record: ConsumerRecord, received: float) -> None:
        if record.topic == SUBSCRIPTIONS_STATE:
            if record.key is not None and record.key.endswith(PARTNER_PART):
                self._on_partner_state(json.loads(record.value))
            return
        headers = dict(record.headers or ())
        kind = headers.get("ce-type", b"").decode()
        sid = record.key.decode() if record.key is not None else ""
        if record.topic != BILLING_LEDGER and len(self.samples) < SAMPLE_RECORDS:
            self.samples.append((record.key, record.value, list(record.headers or ())))
        if self.sampling_relay:
            event_time = json.loads(record.value)["time"]
            self.relay[PRODUCER[record.topic]].append(
                (
                    headers.get("ce-id", b"").decode(),
                    record.timestamp,
                    datetime.fromisoformat(event_time).timestamp() * 1000,
                )
            )
        if kind == "ActivationLinkIssued":
            link = json.loads(record.value)["data"]["link"]
            sub = self.subs.get(sid)
            if sub is None:
                self._early_links[sid] = (link, received)
            elif not sub.link:
                self._link_issued(sub, link, received)
        elif kind == "ChargePosted":
            sub = self.subs.get(sid)
            if sub is None:
                self._early_charges[sid] = received
            elif not sub.charged:
                self._charged(sub, received)

    def _on_partner_state(self, state: dict[str, Any]) -> None:
        if not state["data"]["state"].get("activationLink"):
            return
        stored = datetime.fromisoformat(state["time"]).timestamp() - self._wall_minus_perf
        sub = self.subs.get(state["subject"])
        if sub is None:
            self._early_stored.setdefault(state["subject"], stored)
        elif not sub.link_stored:
            sub.link_stored = stored

    def _link_issued(self, sub: Sub, link: str, received: float) -> None:
        sub.link, sub.link_issued = link, received
        self.ready.put_nowait(sub)

    def _charged(self, sub: Sub, received: float) -> None:
        sub.charged = received
        self._finish(sub)

    def _finish(self, sub: Sub) -> None:
        if self.on_finished is not None:
            self.on_finished(sub)
        self._changed.set()

    def register(self, sub: Sub) -> None:
        self.subs[sub.sid] = sub
        if (early := self._early_links.pop(sub.sid, None)) is not None:
            self._link_issued(sub, *early)
        if (charged := self._early_charges.pop(sub.sid, None)) is not None:
            self._charged(sub, charged)
        if (stored := self._early_stored.pop(sub.sid, None)) is not None:
            sub.link_stored = stored

    def sample(self, phase: str, name: str, since: float) -> None:
        self.ms[phase][name].append((now() - since) * 1000)

    # -- the two actors ----------------------------------------------------------------

    async def buy(self, phase: str, cid: str, first: int, lines: int) -> None:
        """One cart of `lines` lines, checked out: each line is a subscription."""
        body = [
            {**LINE, "quantity": 1 + i % 5, "friendlyName": f"bench {phase} {i}"}
            for i in range(first, first + lines)
        ]
        try:
            started = now()
            cart = await self.partner.cart(cid, body)
            self.sample(phase, "cart (POST, <=5 lines)", started)
            started = now()
            items = await self.partner.checkout(cid, cart)
            purchased = now()
            self.sample(phase, "checkout (POST, <=5 lines)", started)
        except Exception as error:  # one cart's failure is reported, the run goes on
            self.errors.append(f"{phase}: buying a cart failed: {error!r}")
            return
        for item in items:
            self.register(Sub(item["subscriptionId"], item["quantity"], cid, phase, purchased))

    def start_publishers(self, count: int) -> None:
        self.workers = [asyncio.create_task(self._publisher()) for _ in range(count)]

    async def stop_publishers(self) -> None:
        for worker in self.workers:
            worker.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)

    async def _publisher(self) -> None:
        while True:
            sub = await self.ready.get()
            await self.publishing.wait()
            try:
                started = now()
                resolved = await self.publisher.resolve(sub.link)
                self.sample(sub.phase, "resolve (POST)", started)
                if resolved != sub.sid:
                    raise AssertionError(f"the token resolved to {resolved}")
                started = now()
                await self.publisher.assign_licenses(sub.sid, sub.quantity)
                self.sample(sub.phase, "licenses (PUT)", started)
                started = now()
                await self.publisher.activate(sub.sid, LINE["planId"], sub.quantity)
                sub.activated = now()
                self.sample(sub.phase, "activate (POST)", started)
            except Exception as error:
                self.errors.append(f"{sub.phase}: {sub.sid}: publisher step failed: {error!r}")
                sub.failed = True
                self._finish(sub)

    async def watch_view(self, phase: str, until: asyncio.Event) -> int:
        """The partner's view: every VIEW_POLL_S, one GET of each subscription of the
        phase whose link ordering stored, until the GET shows it; returns the GETs.

        A GET only after the store: the cost per purchase stays about one GET whatever
        the backlog. (Polling the pending list, then each subscription from the link's
        issue on, cost O(in flight) per purchase: when the pipeline fell behind, the
        client's polls grew until ordering was the bound.) A GET that does not show a
        link ordering stored is reported as an error: the view would lie.
        """
        polls = 0
        while not until.is_set():
            waiting = [
                s
                for s in self.subs.values()
                if s.phase == phase and s.link_stored and not s.link_visible and not s.failed
            ]
            if waiting:
                polls += len(waiting)
                await asyncio.gather(*(self._look(phase, sub) for sub in waiting))
            await asyncio.sleep(VIEW_POLL_S)
        return polls

    async def _look(self, phase: str, sub: Sub) -> None:
        started = now()
        try:
            item = await self.partner.subscription(sub.cid, sub.sid)
        except Exception as error:
            self.errors.append(f"{phase}: {sub.sid}: polling the partner view failed: {error!r}")
            sub.failed = True
            return
        self.sample(phase, "view GET (one subscription)", started)
        if item.get("activationLink"):
            sub.link_visible = sub.link_stored
        else:
            self.errors.append(f"{phase}: {sub.sid}: stored link not shown by the partner view")
            sub.failed = True

    async def until_finished(self, phase: str, timeout_s: float) -> None:
        """Until every subscription of the phase has its charge (or failed)."""
        deadline = now() + timeout_s
        while True:
            left = [s for s in self.subs.values() if s.phase == phase and not s.finished]
            if not left:
                return
            if now() > deadline:
                for sub in left:
                    sub.failed = True
                    self.errors.append(
                        f"{phase}: {sub.sid}: no charge within {timeout_s:.0f} s"
                        f" (link {'seen' if sub.link else 'not seen'},"
                        f" {'activated' if sub.activated else 'not activated'})"
                    )
                return
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)

    def of(self, phase: str) -> list[Sub]:
        return [s for s in self.subs.values() if s.phase == phase]

    def latencies(self, phase: str) -> dict[str, dict[str, Any]]:
        subs = [s for s in self.of(phase) if not s.failed]
        stages = {
            "purchase -> link issued (topic)": [
                (s.link_issued - s.purchased) * 1000 for s in subs if s.link_issued
            ],
            "purchase -> link visible (partner view)": [
                (s.link_visible - s.purchased) * 1000 for s in subs if s.link_visible
            ],
            "activate -> charge posted (topic)": [
                max(0.0, s.charged - s.activated) * 1000 for s in subs if s.charged
            ],
            "purchase -> charge posted (topic)": [
                (s.charged - s.purchased) * 1000 for s in subs if s.charged
            ],
        }
        requests = {name: values for name, values in self.ms[phase].items()}
        return {name: summary(v) for name, v in (stages | requests).items() if v}


async def run_max(
    flow: Flow, cid: str, *, seconds: float, warmup: float, window: int, buyers: int
) -> dict[str, Any]:
    """As fast as the system goes: up to `window` subscriptions in flight (bought, not yet
    charged), `buyers` checkouts at a time. The rate counts the charges seen between
    `warmup` and `seconds` after the start (the pipeline full)."""
    phase = "max"
    slots = asyncio.Semaphore(window)
    flow.on_finished = lambda sub: slots.release() if sub.phase == phase else None
    started = now()
    stop_at = started + seconds
    bought = 0

    async def buyer() -> None:
        nonlocal bought
        while now() < stop_at:
            for _ in range(CART_LINES):
                await slots.acquire()
            if now() >= stop_at:
                for _ in range(CART_LINES):
                    slots.release()
                return
            first, bought = bought, bought + CART_LINES
            await flow.buy(phase, cid, first, CART_LINES)

    await asyncio.gather(*(buyer() for _ in range(buyers)))
    ended = now()
    await flow.until_finished(phase, timeout_s=60)
    flow.on_finished = None
    subs = flow.of(phase)
    charged = [s.charged for s in subs if s.charged]
    return {
        "window": window,
        "buyers": buyers,
        "seconds": round(ended - started, 2),
        "warmup_s": warmup,
        "bought": len(subs),
        "charged": len(charged),
        "activations_per_s": round(rate_in_window(charged, started + warmup, started + seconds), 1),
        "checkouts_per_s": round(
            rate_in_window([s.purchased for s in subs], started + warmup, started + seconds), 1
        ),
        "drain_s": round(max(charged, default=ended) - ended, 2),
        "latency": flow.latencies(phase),
    }


async def run_fixed(flow: Flow, cid: str, *, rate: float, seconds: float) -> dict[str, Any]:
    """Open loop: carts of CART_LINES lines at evenly spaced moments, `rate` subscriptions
    per second, whatever the answers; the latencies of each stage."""
    phase = "half"
    carts = max(1, round(rate * seconds / CART_LINES))
    interval = CART_LINES / rate
    done = asyncio.Event()
    view = asyncio.create_task(flow.watch_view(phase, done))
    started = now()
    buying: list[asyncio.Task[None]] = []
    late = 0
    for i in range(carts):
        due = started + i * interval
        if (wait := due - now()) > 0:
            await asyncio.sleep(wait)
        elif wait < -interval:
            late += 1  # the client fell behind its schedule: say so
        buying.append(asyncio.create_task(flow.buy(phase, cid, i * CART_LINES, CART_LINES)))
    await asyncio.gather(*buying)
    ended = now()
    await flow.until_finished(phase, timeout_s=60)
    deadline = now() + 5  # the partner view may trail the charge a little
    visible = [s for s in flow.of(phase) if not s.failed]
    while any(not s.link_visible for s in visible) and now() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(VIEW_POLL_S)  # the view watcher sets them
    done.set()
    polls = await view
    subs = flow.of(phase)
    charged = [s.charged for s in subs if s.charged]
    return {
        "offered_per_s": round(rate, 1),
        "seconds": round(ended - started, 2),
        "bought": len(subs),
        "charged": len(charged),
        "achieved_per_s": round(len(charged) / (max(charged) - started), 1) if charged else None,
        "carts_sent_late": late,
        "view_polls": polls,
        "view_poll_ms": VIEW_POLL_S * 1000,
        "latency": flow.latencies(phase),
    }


async def verify(flow: Flow, customers: dict[str, str]) -> dict[str, Any]:
    """Over billing's HTTP API: each subscription bought has exactly one invoice line,
    a charge of quantity x price, and each customer exactly one invoice per subscription."""
    right = 0
    invoices = 0
    started = now()
    for phase, cid in customers.items():
        subs = {s.sid: s for s in flow.of(phase)}
        documents = await flow.partner.invoices(cid)
        invoices += len(documents)
        lines: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
        for document in documents:
            for line in document["lineItems"]:
                lines[line["subscriptionId"]].append((line["type"], Decimal(line["amount"])))
        for sid, sub in subs.items():
            want = [("charge", Decimal(sub.quantity * PRICE_MINOR) / 100)]
            if lines.get(sid) == want:
                right += 1
            else:
                flow.errors.append(
                    f"{phase}: {sid}: invoice lines {lines.get(sid)}, expected {want}"
                )
        if len(documents) != len(subs):
            flow.errors.append(f"{phase}: {len(documents)} invoices for {len(subs)} subscriptions")
        if unknown := set(lines) - set(subs):
            flow.errors.append(f"{phase}: invoice lines for {len(unknown)} unknown subscriptions")
    return {
        "subscriptions": len(flow.subs),
        "right": right,
        "invoices": invoices,
        "seconds": round(now() - started, 2),
    }

"""How the SQLite store holds up as a service's data grows: `make bench-store`.

    python -m benchmarks.store_scale --documents 1000000

Seeds a SQLite store the way ordering keeps one (the store `make_store` builds for it,
so with the indexes ordering declares): `--documents` subscriptions of about
`--documents / 10` customers, one big customer holding 1% of them, plus sent outbox
rows and inbox records for the purge. Then it times, each `--samples` times, p50 / p99
/ max in ms:

- the store alone (a read-only transaction): `get`, an unpaged filtered `find`;
- ordering's queries through its message bus (unit of work, repositories, models):
  get a subscription, list a customer's subscriptions (first page, a later page, with
  `status=`), for a typical customer (about 10 subscriptions) and for the big one;
- the same GETs over HTTP, in process (FastAPI app, httpx ASGI transport, a partner
  token; no sockets, no broker);
- the hourly purge of `--purge-rows` outbox rows and as many inbox rows, while a
  writer keeps committing small transactions beside it: the purge's total time, how
  long each of its holds of the single writer lasted, and how long the other writer
  waited.

Not a test: nothing is asserted about speed. Seeding writes through the store's own
insert statement in large transactions (sqlite3, not the async port, which would
take minutes per million for no insight); the store is opened before and after, so
its schema and indexes are the ones a service gets. Results go to stdout and, between
this benchmark's own markers, into benchmarks/README.md (`--no-readme` to skip).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.logging import configure_logging

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- store-scale:begin -->", "<!-- store-scale:end -->"
PARTNERS = 100
SUBSCRIPTIONS_PER_CUSTOMER = 10
BIG_CUSTOMER_SHARE = 0.01
STATUS_WEIGHTS = {"active": 90, "pending": 4, "suspended": 3, "deleted": 3}
PAGE_SIZE = 100
SEED_BATCH = 50_000
PROBE_PERIOD_S = 0.002  # the writer beside the purge: a small commit every 2 ms
NOW = datetime(2030, 1, 1, tzinfo=UTC)
BIG_CUSTOMER = "b16b16b1-6b16-4b16-8b16-b16b16b16b16"


@dataclass
class Timings:
    name: str
    ms: list[float] = field(default_factory=list)
    note: str = ""

    def row(self) -> str:
        ordered = sorted(self.ms)
        p50 = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return (
            f"| {self.name} | {len(ordered)} | {p50:.2f} | {p99:.2f} | {ordered[-1]:.2f}"
            f" | {self.note} |"
        )


@dataclass
class Seeded:
    subscription_ids: list[str]
    customer_of: list[str]  # of each subscription, by position in `subscription_ids`
    small_customer: str
    big_customer: str
    partner_of: dict[str, str]
    seconds: float
    file_bytes: int = 0


# --- seeding ----------------------------------------------------------------------------


def _customer_doc(customer_id: str, partner_id: str) -> dict[str, Any]:
    from services.ordering.domain.model import Customer

    return Customer(
        id=customer_id,
        csp_partner_id=partner_id,
        company_name=f"Company {customer_id}",
        domain=f"{customer_id}.example",
        creation_date=NOW,
    ).document()


def _subscription_template() -> dict[str, Any]:
    """One real document of ordering's `Subscription`, to vary per row."""
    from services.ordering.domain.subscription import Subscription

    return Subscription(
        id="template",
        csp_partner_id="p",
        customer_id="c",
        order_id="o",
        line_item_number=1,
        offer_id="contoso-crm",
        plan_id="standard",
        publisher_id="contoso",
        friendly_name="Contoso CRM standard",
        quantity=3,
        status="active",
        activation_link="https://contoso.example/landing?token=abcdefabcdefabcdefabcdef",
        licenses_assigned=3,
        auto_renew_enabled=True,
        reseller_mpn_id=None,
        term_duration="P1Y",
        billing_cycle="monthly",
        currency="USD",
        price_per_seat_minor=1000,
        creation_date=NOW,
        effective_start_date=NOW,
        commitment_end_date=(NOW + timedelta(days=364)).date(),
        correlation_id="corr",
    ).document()


def _assignments(documents: int, rng: random.Random) -> Iterator[tuple[str, str]]:
    """(customer id, status) per subscription, in insertion order: the big customer's
    spread evenly, the others' interleaved at random."""
    customers = [_guid(rng) for _ in range(max(1, documents // SUBSCRIPTIONS_PER_CUSTOMER))]
    every = max(1, round(1 / BIG_CUSTOMER_SHARE))
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    for n in range(documents):
        customer = BIG_CUSTOMER if n % every == every // 2 else rng.choice(customers)
        yield customer, rng.choices(statuses, weights)[0]


def _guid(rng: random.Random) -> str:
    """The partner API's ids are GUIDs (its paths refuse anything else)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed(path: Path, documents: int, purge_rows: int, rng: random.Random) -> Seeded:
    from shared.store.sqlite_sql import _INSERT_DOC

    started = time.perf_counter()
    template = _subscription_template()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")  # seeding only: the service's settings differ
    ids: list[str] = []
    owners: list[str] = []
    customers: dict[str, str] = {}
    counts: dict[str, int] = {}
    rows: list[tuple[str, str, str, str]] = []

    def flush() -> None:
        conn.execute("BEGIN")
        conn.executemany(_INSERT_DOC, rows)
        conn.execute("COMMIT")
        rows.clear()

    for n, (customer, status) in enumerate(_assignments(documents, rng)):
        if customer not in customers:
            customers[customer] = f"partner-{len(customers) % PARTNERS}"
        counts[customer] = counts.get(customer, 0) + 1
        key = _guid(rng)
        doc = dict(
            template,
            id=key,
            csp_partner_id=customers[customer],
            customer_id=customer,
            order_id=f"00000000-0000-4000-8000-{n // 5:012d}",
            line_item_number=n % 5 + 1,
            status=status,
            correlation_id=f"corr-{n:08d}",
        )
        ids.append(key)
        owners.append(customer)
        rows.append(("subscriptions", key, "subscriptions", json.dumps(doc, separators=(",", ":"))))
        if len(rows) >= SEED_BATCH:
            flush()
    for customer, partner in customers.items():
        doc = _customer_doc(customer, partner)
        rows.append(("customers", customer, "customers", json.dumps(doc, separators=(",", ":"))))
    flush()
    _seed_outbox_and_inbox(conn, purge_rows)
    conn.close()
    typical = sorted(c for c, k in counts.items() if c != BIG_CUSTOMER and k == 10) or sorted(
        counts
    )
    return Seeded(
        ids,
        owners,
        small_customer=typical[0],
        big_customer=BIG_CUSTOMER,
        partner_of=customers,
        seconds=time.perf_counter() - started,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _seed_outbox_and_inbox(conn: sqlite3.Connection, purge_rows: int) -> None:
    """`purge_rows` sent outbox rows and inbox records older than the purge's cutoff,
    and a tenth as many newer ones that must stay, interleaved by time."""
    old, new = NOW - timedelta(days=40), NOW - timedelta(days=1)
    payload = b"x" * 600
    conn.execute("BEGIN")
    for n in range(purge_rows + purge_rows // 10):
        stamp = _iso((old if n % 11 else new) + timedelta(microseconds=n))
        conn.execute(
            "INSERT INTO outbox (topic, key, payload, headers, created_at, sent_at)"
            " VALUES (?, ?, ?, '{}', ?, ?)",
            ("ordering.subscriptions", f"sub-{n % 100_000:08d}", payload, stamp, stamp),
        )
        conn.execute(
            "INSERT INTO inbox (consumer, event_id, recorded_at) VALUES (?, ?, ?)",
            ("ordering.subscription-view", f"event-{n:09d}", stamp),
        )
    conn.execute("COMMIT")


# --- timing -------------------------------------------------------------------------------


BUDGET_S = 30.0  # per operation: a slow one (a scan) stops after 5 samples past it
WARM_UP = 10


async def timed(
    name: str, samples: int, call: Callable[[int], Awaitable[Any]], note: str = ""
) -> Timings:
    result = Timings(name, note=note)
    started_all = time.perf_counter()
    for n in range(WARM_UP + samples):  # the first calls warm the caches: not counted
        started = time.perf_counter()
        await call(n)
        if n >= WARM_UP:
            result.ms.append((time.perf_counter() - started) * 1000)
        over = time.perf_counter() - started_all > BUDGET_S
        if over and len(result.ms) >= 5:
            break
    print(f"  {result.row()}", file=sys.stderr, flush=True)
    return result


def _settings(data_dir: Path) -> Any:
    from services.ordering.settings import OrderingSettings

    return OrderingSettings(csp_data_dir=data_dir, csp_store="sqlite")


async def measure_reads(data_dir: Path, seeded: Seeded, samples: int) -> list[Timings]:
    import httpx

    from services.ordering.bootstrap import DEFINITION, build_app
    from services.ordering.service_layer import queries as q
    from shared.clock import FixedClock
    from shared.http.auth import mint_token
    from shared.service import build_bus
    from shared.service_layer.paging import PageRequest
    from shared.store.factory import make_store

    settings, clock = _settings(data_dir), FixedClock(NOW)
    store = make_store(settings, clock)
    await store.open()
    try:
        bus = build_bus(DEFINITION, store, clock, {"catalog": settings.catalog()})
        rng = random.Random(7)
        ids = seeded.subscription_ids
        small, big = seeded.small_customer, seeded.big_customer
        partner_big = seeded.partner_of[big]
        picks = [rng.randrange(len(ids)) for _ in range(samples + WARM_UP)]

        async def store_get(n: int) -> None:
            async with store.read_only() as tx:
                assert await tx.collection("subscriptions").get(ids[picks[n]]) is not None

        async def store_find(n: int) -> None:
            async with store.read_only() as tx:
                assert await tx.collection("subscriptions").find(customer_id=small)

        async def bus_get(n: int) -> None:
            customer = seeded.customer_of[picks[n]]
            query = q.GetSubscription(seeded.partner_of[customer], customer, ids[picks[n]])
            await bus.handle(query)

        def lister(customer: str, status: str | None) -> Callable[[int], Awaitable[Any]]:
            partner = seeded.partner_of[customer]

            async def first(_: int) -> None:
                page = PageRequest(PAGE_SIZE)
                found = await bus.handle(q.ListSubscriptions(partner, customer, status, page))
                assert found.items

            return first

        # Cursors of the big customer's later pages, to ask for one of them at random.
        cursors: list[int] = []
        after: int | None = None
        while len(cursors) < 50:
            page = PageRequest(PAGE_SIZE, after)
            found = await bus.handle(q.ListSubscriptions(partner_big, big, None, page))
            if found.next is None:
                break
            cursors.append(after := found.next)

        async def next_page(n: int) -> None:
            page = PageRequest(PAGE_SIZE, cursors[n % len(cursors)])
            found = await bus.handle(q.ListSubscriptions(partner_big, big, None, page))
            assert found.items

        results = [
            await timed("store get (read-only tx)", samples, store_get),
            await timed(
                "store find, unpaged (customer_id)",
                samples,
                store_find,
                f"{SUBSCRIPTIONS_PER_CUSTOMER} documents",
            ),
            await timed("service get subscription", samples, bus_get, "customer check + get"),
            await timed(
                "service list, first page",
                samples,
                lister(small, None),
                f"typical customer ({SUBSCRIPTIONS_PER_CUSTOMER})",
            ),
            await timed(
                "service list, first page",
                samples,
                lister(big, None),
                f"big customer ({len(ids) // round(1 / BIG_CUSTOMER_SHARE)})",
            ),
        ]
        if cursors:
            results.append(
                await timed("service list, next page", samples, next_page, "big customer")
            )
        results.append(
            await timed(
                "service list, status=pending", samples, lister(big, "pending"), "big customer"
            )
        )

        # HTTP in process: the routes, validation and JSON of the real app.
        app = build_app(settings, store=store, clock=clock)
        transport = httpx.ASGITransport(app=app)
        tokens: dict[str, str] = {}

        def token(partner: str) -> str:
            if partner not in tokens:
                claims = {"sub": "bench", "partnerId": partner, "roles": ["SalesAgent"]}
                tokens[partner] = mint_token(settings.csp_jwt_secret, claims)
            return tokens[partner]

        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            def http(request: Callable[[int], tuple[str, str]]) -> Callable[[int], Awaitable[Any]]:
                async def call(n: int) -> None:
                    url, partner = request(n)
                    headers = {"Authorization": f"Bearer {token(partner)}"}
                    response = await client.get(url, headers=headers)
                    assert response.status_code == 200, response.text

                return call

            def one(n: int) -> tuple[str, str]:
                customer = seeded.customer_of[picks[n]]
                url = f"/v1/customers/{customer}/subscriptions/{ids[picks[n]]}"
                return url, seeded.partner_of[customer]

            def of_customer(customer: str) -> Callable[[int], tuple[str, str]]:
                url = f"/v1/customers/{customer}/subscriptions?size={PAGE_SIZE}"
                return lambda _: (url, seeded.partner_of[customer])

            results += [
                await timed("HTTP GET subscription", samples, http(one)),
                await timed(
                    "HTTP GET subscriptions (list)",
                    samples,
                    http(of_customer(small)),
                    f"typical customer ({SUBSCRIPTIONS_PER_CUSTOMER})",
                ),
                await timed(
                    "HTTP GET subscriptions (list)",
                    samples,
                    http(of_customer(big)),
                    f"big customer, page of {PAGE_SIZE}",
                ),
            ]
        return results
    finally:
        await store.close()


class _HoldRecorder:
    """Wraps the store's writer lock: how long each holder kept it."""

    def __init__(self, lock: Any) -> None:
        self._lock = lock
        self._since = 0.0
        self.holds: list[float] = []

    async def acquire(self) -> None:
        await self._lock.acquire()
        self._since = time.perf_counter()

    def release(self) -> None:
        self.holds.append((time.perf_counter() - self._since) * 1000)
        self._lock.release()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()


async def measure_purge(data_dir: Path) -> tuple[list[Timings], int, float]:
    from shared.clock import FixedClock
    from shared.store.factory import make_store

    store = make_store(_settings(data_dir), FixedClock(NOW))
    await store.open()
    try:
        purging = asyncio.Event()
        waits: list[float] = []

        async def probe_writer() -> None:
            """A small write every few ms: what event handling feels during the purge."""
            n = 0
            while purging.is_set():
                started = time.perf_counter()
                async with store.transaction() as tx:
                    await tx.collection("probe").put(f"k{n % 100}", {"n": n})
                    await tx.commit()
                waits.append((time.perf_counter() - started) * 1000)
                n += 1
                await asyncio.sleep(PROBE_PERIOD_S)

        recorder = _HoldRecorder(store._writer)  # type: ignore[attr-defined]
        store._writer = recorder  # type: ignore[attr-defined]
        purging.set()
        probe = asyncio.create_task(probe_writer())
        await asyncio.sleep(0.05)
        recorder.holds.clear()
        started = time.perf_counter()
        holds_before = len(recorder.holds)
        removed = await store.purge(NOW - timedelta(days=30))
        seconds = time.perf_counter() - started
        purging.clear()
        await probe
        # The probe's own holds are sub-millisecond puts; the purge's are the long ones.
        holds = Timings("writer holds during the purge", recorder.holds[holds_before:])
        holds.note = "purge batches and the probe's commits"
        probe_waits = Timings("a small write beside the purge", waits, "commit latency")
        return [holds, probe_waits], removed, seconds
    finally:
        await store.close()


# --- report ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with_model = Path("/proc/cpuinfo")
    if with_model.exists():
        for line in with_model.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


def report(
    args: argparse.Namespace,
    seeded: Seeded,
    open_seconds: float,
    reads: list[Timings],
    purge: tuple[list[Timings], int, float],
) -> str:
    timings, removed, purge_seconds = purge
    command = f"python -m benchmarks.store_scale --documents {args.documents}"
    if args.purge_rows != DEFAULT_PURGE_ROWS:
        command += f" --purge-rows {args.purge_rows}"
    lines = [
        f"`{command}` ({time.strftime('%Y-%m-%d')}, {machine()}):",
        f"{args.documents:,} subscriptions seeded in {seeded.seconds:.1f} s"
        f" (file {seeded.file_bytes / 1e6:,.0f} MB); the store's first open after"
        f" seeding took {open_seconds:.1f} s (schema and index build). Purge:"
        f" {removed:,} rows in {purge_seconds:.2f} s.",
        "",
        "| operation | samples | p50 ms | p99 ms | max ms | notes |",
        "|---|---:|---:|---:|---:|---|",
        *(t.row() for t in reads + timings),
    ]
    return "\n".join(lines)


def write_readme(text: str) -> None:
    section = f"{BEGIN}\n{text}\n{END}"
    current = README.read_text() if README.exists() else "# Benchmarks\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        updated = head + section + tail
    else:
        heading = "\n## Store at scale (`make bench-store`)\n\n"
        updated = current.rstrip("\n") + "\n" + heading + section + "\n"
    README.write_text(updated)


DEFAULT_PURGE_ROWS = 150_000


async def run(args: argparse.Namespace) -> str:
    from shared.clock import FixedClock
    from shared.store.factory import make_store

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="store-scale-", dir=args.dir) as tmp:
        data_dir = Path(tmp)
        settings = _settings(data_dir)
        store = make_store(settings, FixedClock(NOW))
        await store.open()  # the schema (and indexes) as a service creates them
        await store.close()
        print(f"seeding {args.documents:,} subscriptions ...", file=sys.stderr, flush=True)
        seeded = seed(settings.store_path(), args.documents, args.purge_rows, rng)
        seeded.file_bytes = settings.store_path().stat().st_size
        started = time.perf_counter()
        store = make_store(settings, FixedClock(NOW))
        await store.open()
        await store.close()
        open_seconds = time.perf_counter() - started
        print(f"seeded in {seeded.seconds:.1f} s; measuring ...", file=sys.stderr, flush=True)
        reads = await measure_reads(data_dir, seeded, args.samples)
        purge = await measure_purge(data_dir)
        return report(args, seeded, open_seconds, reads, purge)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000, help="subscriptions")
    parser.add_argument(
        "--purge-rows",
        type=int,
        default=DEFAULT_PURGE_ROWS,
        help="old sent outbox rows, and as many old inbox records, for the purge",
    )
    parser.add_argument("--samples", type=int, default=200, help="timed calls per operation")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the data")
    parser.add_argument("--dir", default=None, help="where the temporary store goes")
    parser.add_argument("--no-readme", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.documents < 1000 or args.samples < 1 or args.purge_rows < 0:
        parser.error("--documents at least 1000, --samples at least 1, --purge-rows >= 0")
    # Warnings only: an info line per timed request would bury the figures.
    configure_logging("store-scale", "warning")
    logging.getLogger().setLevel(logging.WARNING)  # httpx logs each request at info
    text = asyncio.run(run(args))
    print(text)
    if not args.no_readme:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: the central flow (purchase -> activation -> charge) measured in one run
on the embedded defaults, beside a raw aiokafka baseline on the same broker.

    python -m benchmarks.purchase_to_charge [--quick] [--profile] [options]

Phases, one system (broker + three services, SQLite) for all of them:
1. max: as many completed activations per second as the system sustains.
2. half: a fixed offered rate of half that; the latency of each stage; outbox relay delay.
3. backlog: each service stopped while its input piles up, then timed working it off.
4. raw: three raw consume -> produce hops on the same broker, and the ratios.
Then every subscription's charge is checked over billing's HTTP API.

Not a test: nothing is asserted about speed. Exit 0: the run finished and every charge is
right; 1: it finished with errors (listed); 2: it could not run (startup, time bound).
See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
from contextlib import AsyncExitStack, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop
from aiokafka import AIOKafkaProducer

from benchmarks import profile as profiling
from benchmarks.backlog import GROUPS, run_backlogs
from benchmarks.client import PartnerClient, PublisherClient
from benchmarks.flow import PUBLISHER
from benchmarks.kafka_watch import GroupOffsets, TopicTail, partitions
from benchmarks.load import (
    STATE_FETCH_BYTES,
    STATE_FETCH_WAIT_MS,
    STATE_TOPIC,
    TOPICS,
    Flow,
    run_fixed,
    run_max,
    verify,
)
from benchmarks.procstat import ProcessBook, cpu_between
from benchmarks.raw_chain import run_raw_chain
from benchmarks.report import load_average, machine, render, render_profile, write_between_markers
from benchmarks.stats import ratio, summary
from benchmarks.system import SERVICES, System

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
README = HERE / "README.md"
LIMIT_S = 600.0
SAMPLE_S = 0.5  # how often each process's CPU and memory are read
LOADED = 1.0  # a 1-minute load average above this at the start: other work is running
QUICK = {
    "max_seconds": 8.0,
    "warmup": 3.0,
    "half_seconds": 6.0,
    "backlog": 150,
    "raw_messages": 5000,
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.purchase_to_charge", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--max-seconds", type=float, default=20.0, help="length of the max phase (default 20)"
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="max phase: seconds before the rate is counted (5)",
    )
    p.add_argument(
        "--window", type=int, default=200, help="max phase: subscriptions in flight at most (200)"
    )
    p.add_argument(
        "--buyers", type=int, default=4, help="max phase: checkouts in flight at most (4)"
    )
    p.add_argument(
        "--publishers", type=int, default=32, help="publisher activations in flight at most (32)"
    )
    p.add_argument(
        "--half-seconds", type=float, default=15.0, help="length of the fixed-rate phase (15)"
    )
    p.add_argument(
        "--half-rate",
        type=float,
        default=None,
        help="the fixed-rate phase's offered rate (default: half the measured maximum)",
    )
    p.add_argument(
        "--backlog", type=int, default=300, help="purchases in the backlog phase; 0 skips it (300)"
    )
    p.add_argument(
        "--raw-messages", type=int, default=10000, help="messages per raw hop; 0 skips it (10000)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="small sizes: " + ", ".join(f"{k}={v}" for k, v in QUICK.items()),
    )
    p.add_argument(
        "--profile", action="store_true", help="py-spy each service during the max phase"
    )
    p.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help=f"JSON output ({RESULTS.relative_to(HERE.parent)})",
    )
    p.add_argument(
        "--readme", type=Path, default=README, help="markdown written between its markers"
    )
    p.add_argument("--no-readme", action="store_true", help="do not touch the README")
    p.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for every service, e.g. KAFKA_FETCH_MAX_WAIT_MS=10 (repeatable; for"
        " experiments: the report names it, the defaults are what make bench measures)",
    )  # fmt: skip
    p.add_argument(
        "--workdir",
        type=Path,
        help="keep data, logs and profiles here (default: a temporary directory)",
    )
    args = p.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    args.command = f"{p.prog} {shlex.join(given)}" if given else "make bench"
    try:
        args.env = dict(item.split("=", 1) for item in args.env)
    except ValueError:
        p.error("--env takes NAME=VALUE")
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    if (
        not 1 <= args.window <= 500
        or args.buyers * 5 > args.window
        or args.warmup >= args.max_seconds
    ):
        p.error("need 1 <= window <= 500, buyers x 5 <= window, warmup < max-seconds")
    return args


class Sampler:
    """Reads every process's CPU and memory every SAMPLE_S; keeps an RSS timeline."""

    def __init__(self, book: ProcessBook) -> None:
        self.book = book
        self.timeline: list[tuple[float, dict[str, float]]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.book.sample()
            self.timeline.append((time.perf_counter(), self.book.rss_mb()))
            await asyncio.sleep(SAMPLE_S)

    def cpu(self) -> dict[str, float]:
        self.book.sample()
        return self.book.cpu()

    def rss_between(self, start: float, end: float) -> dict[str, dict[str, float]]:
        inside = [rss for t, rss in self.timeline if start <= t <= end]
        if not inside:
            return {}
        return {
            role: {"start": inside[0][role], "end": inside[-1][role]}
            for role in inside[-1]
            if role in inside[0]
        }

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task


async def lags(system: System, producer: AIOKafkaProducer) -> dict[str, int]:
    """Each service's consumer lag now: events on its input not yet committed."""
    out = {}
    for service, group in GROUPS.items():
        async with GroupOffsets(
            system.bootstrap, group.name, await partitions(producer, group.topic)
        ) as g:
            committed = await g.committed()
            out[service] = max(0, await g.end() - committed)
    return out


def relay_delay(flow: Flow, data_dir: Path) -> dict[str, dict[str, Any]]:
    """Per producing service: event created -> record on the topic (the envelope's time
    against the record's timestamp, both set in the producer's process), and, from its
    outbox table, commit -> record on the topic and commit -> marked sent."""
    out: dict[str, dict[str, Any]] = {}
    for service, records in flow.relay.items():
        figures: dict[str, Any] = {
            "event created -> published": summary([ts - t for _, ts, t in records])
        }
        published = {ce_id: ts for ce_id, ts, _ in records}
        try:
            rows = _outbox_rows(data_dir / f"{service}.sqlite3")
        except sqlite3.Error as error:
            figures["outbox"] = f"not read: {error}"
            out[service] = figures
            continue
        to_topic, to_marked = [], []
        for ce_id, created, sent in rows:
            if (ts := published.get(ce_id)) is not None:
                to_topic.append(ts - created)
                if sent is not None:
                    to_marked.append(sent - created)
        figures["commit -> published"] = summary(to_topic)
        figures["commit -> marked sent"] = summary(to_marked)
        out[service] = figures
    return out


def _outbox_rows(path: Path) -> list[tuple[str, float, float | None]]:
    def ms(text: str | None) -> float | None:
        return datetime.fromisoformat(text).timestamp() * 1000 if text else None

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT headers, created_at, sent_at FROM outbox").fetchall()
    return [(json.loads(h).get("ce-id", ""), ms(c) or 0.0, ms(s)) for h, c, s in rows]


async def run(args: argparse.Namespace, workdir: Path, r: dict[str, Any]) -> None:
    """Fills `r` as it goes: what was measured is there even when a later phase fails."""
    began = time.perf_counter()
    book = ProcessBook()
    book.add("client", os.getpid())
    r |= {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average": {"start": load_average()},
        "command": args.command,
        "settings": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k != "command"
        },
        "cpu_s": {},
        "errors": [],
    }
    r["loaded"] = bool(r["load_average"]["start"]) and r["load_average"]["start"][0] > LOADED
    system = System(workdir, book, extra_env=args.env)
    sampler = Sampler(book)
    sampler.start()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(system.stop_all)
        stack.push_async_callback(sampler.stop)
        print(f"starting the broker and the three services (logs in {workdir}) ...", flush=True)
        system.start_broker()
        for service in SERVICES:
            system.start(service)
        r["startup_s"] = round(await system.wait_ready(*SERVICES), 2)
        producer = AIOKafkaProducer(bootstrap_servers=system.bootstrap, acks="all")
        await producer.start()
        stack.push_async_callback(producer.stop)
        partner = PartnerClient(
            system.url("ordering"), system.url("billing"), system.partner_token("bench-partner")
        )
        stack.push_async_callback(partner.close)
        publisher = PublisherClient(system.url("provisioning"), system.publisher_token(PUBLISHER))
        stack.push_async_callback(publisher.close)
        flow = Flow(partner, publisher)
        r["errors"] = flow.errors  # the same list: filled as the run goes
        tail = TopicTail(system.bootstrap, flow.on_record)
        await tail.start([tp for t in TOPICS for tp in await partitions(producer, t)])
        stack.push_async_callback(tail.stop)
        state_tail = TopicTail(
            system.bootstrap,
            flow.on_record,
            fetch_max_wait_ms=STATE_FETCH_WAIT_MS,
            fetch_min_bytes=STATE_FETCH_BYTES,
        )
        await state_tail.start(await partitions(producer, STATE_TOPIC))
        stack.push_async_callback(state_tail.stop)
        flow.start_publishers(args.publishers)
        stack.push_async_callback(flow.stop_publishers)
        customers = {
            phase: await partner.customer(f"Bench{phase.title()}")
            for phase in ("max", "half", "backlog")
        }

        print(f"max rate: {args.max_seconds:.0f} s, up to {args.window} in flight ...", flush=True)
        cpu = sampler.cpu()
        spies = _start_profiles(system, workdir, args) if args.profile else {}
        lag_task = asyncio.create_task(_lags_after(args.max_seconds, system, producer))
        r["max"] = await run_max(
            flow, customers["max"], seconds=args.max_seconds, warmup=args.warmup,
            window=args.window, buyers=args.buyers,
        )  # fmt: skip
        r["max"]["lag_at_end"] = await lag_task
        r["cpu_s"]["max"] = cpu_between(cpu, sampler.cpu())
        charged = r["max"]["charged"]
        r["max"]["client_cpu_ms_per_activation"] = (
            round(r["cpu_s"]["max"]["client"] * 1000 / charged, 2) if charged else None
        )
        if spies:
            r["profiled"] = True
            r["profile"] = await _finish_profiles(spies, args.max_seconds)

        rate = args.half_rate or max(1.0, (r["max"]["activations_per_s"] or 2.0) / 2)
        print(
            f"fixed rate: {rate:.1f} subscriptions/s for {args.half_seconds:.0f} s ...", flush=True
        )
        cpu = sampler.cpu()
        flow.sampling_relay = True
        half_began = time.perf_counter()
        r["half"] = await run_fixed(flow, customers["half"], rate=rate, seconds=args.half_seconds)
        r["half"]["rss_mb"] = sampler.rss_between(half_began, time.perf_counter())
        flow.sampling_relay = False
        r["cpu_s"]["half"] = cpu_between(cpu, sampler.cpu())
        r["relay_delay"] = relay_delay(flow, workdir / "data")

        if args.backlog:
            print(
                f"backlog: {args.backlog} purchases, each service stopped and restarted ...",
                flush=True,
            )
            cpu = sampler.cpu()
            r["backlog"] = await run_backlogs(
                system, book, flow, producer, customers["backlog"], args.backlog
            )
            r["cpu_s"]["backlog"] = cpu_between(cpu, sampler.cpu())
        else:
            del customers["backlog"]

        if args.raw_messages:
            print(
                f"raw chain: {args.raw_messages} messages through three aiokafka hops ...",
                flush=True,
            )
            cpu = sampler.cpu()
            r["raw"] = await run_raw_chain(
                system.bootstrap,
                book,
                producer,
                flow.samples,
                args.raw_messages,
                workdir / "raw-hops.log",
            )
            r["cpu_s"]["raw"] = cpu_between(cpu, sampler.cpu())
        r["ratios"] = _ratios(r)

        print("checking every charge over billing's API ...", flush=True)
        r["correctness"] = await verify(flow, customers)
    book.sample()
    total = book.cpu()
    peaks = book.peak_rss_mb()
    r["processes"] = {
        role: {"cpu_s": round(total[role], 2), "peak_rss_mb": peaks[role]} for role in total
    }
    r["load_average"]["end"] = load_average()
    r["wall_s"] = round(time.perf_counter() - began, 1)


async def _lags_after(seconds: float, system: System, producer: AIOKafkaProducer) -> dict[str, int]:
    await asyncio.sleep(seconds)
    return await lags(system, producer)


def _ratios(r: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    raw = r.get("raw", {})
    hops = [h["events_per_s"] for h in raw.get("hop_alone_batch", []) if "events_per_s" in h]
    hop = statistics.median(hops) if hops else None
    single = raw.get("hop_alone_single", {}).get("events_per_s")
    services = r.get("backlog", {}).get("services", {})
    return {
        s: {
            "vs_raw_hop": ratio(f.get("events_per_s"), hop),
            "vs_raw_hop_single": ratio(f.get("events_per_s"), single),
        }
        for s, f in services.items()
    }


def _start_profiles(system: System, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    spies = {}
    for role in (*SERVICES, "client"):
        pid = os.getpid() if role == "client" else system.pid(role)
        out = workdir / f"profile-{role}.txt"
        spies[role] = (profiling.start(pid, out, args.max_seconds), out)
    return spies


async def _finish_profiles(spies: dict[str, Any], seconds: float) -> dict[str, Any]:
    profiles = {}
    for service, (spy, out) in spies.items():
        if spy is None:
            profiles[service] = {"samples": 0, "error": "py-spy not found"}
            continue
        _, err = await asyncio.to_thread(spy.communicate)
        if not out.exists():
            profiles[service] = {"samples": 0, "error": err.decode(errors="replace")[-300:]}
            continue
        keep = RESULTS.parent / out.name
        keep.write_text(out.read_text())
        profiles[service] = profiling.summarize(out.read_text(), seconds) | {
            "collapsed": str(keep.relative_to(HERE.parent))
        }
    return profiles


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="csp-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        RESULTS.parent.mkdir(exist_ok=True)
        r: dict[str, Any] = {}
        began = time.monotonic()
        try:
            uvloop.run(asyncio.wait_for(run(args, workdir, r), LIMIT_S))
        except Exception as error:
            failed = (
                f"the run exceeded its {LIMIT_S / 60:.0f}-minute bound"
                if time.monotonic() - began >= LIMIT_S
                else f"the run could not finish: {error!r}\n{traceback.format_exc()}"
            )
            for log in sorted(workdir.glob("*.log")):
                print(
                    f"--- tail of {log.name}\n{log.read_text(errors='replace')[-1500:]}",
                    file=sys.stderr,
                )
            partial = {k: v for k, v in r.items() if k not in ("settings",)}
            print(json.dumps(partial, indent=1, default=str)[-6000:], file=sys.stderr)
            print(f"ERROR {failed}", file=sys.stderr)
            return 2
    text = render(r)
    if r.get("profile"):
        text += "\n" + render_profile(r["profile"])
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(r, indent=2) + "\n")
    print(f"wrote {args.results}")
    if not args.no_readme:
        if write_between_markers(args.readme, text):
            print(f"wrote the tables into {args.readme}")
        else:
            print(f"{args.readme} has no {('bench:results')} markers: not written")
    return 1 if r["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

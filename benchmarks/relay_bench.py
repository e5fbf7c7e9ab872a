"""The outbox relay alone, on the embedded broker and a SQLite store, as a service runs it
(FastStream producer, `shared.messaging.kafka.publish_function`):

    python -m benchmarks.relay_bench [--rate 200] [--seconds 10] [--backlog 5000]

1. Delay at a fixed rate: transactions commit `rate` times a second, each holding the
   store's writer for `hold_ms` (a handler's work) and adding two rows of one key (as
   billing's charge and invoice); for every row, commit -> publish started and commit ->
   acknowledged by the broker.
2. Throughput: `backlog` rows committed while the relay is stopped, then the relay
   started; rows acknowledged per second until all are marked sent.

A measurement of the relay alone, for before/after comparisons of its code on a busy
machine, where the whole-system figures (`purchase_to_charge`) vary too much.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from benchmarks.stats import summary
from shared.clock import Clock
from shared.messaging.embedded_broker import broker_command, free_port, wait_for_port
from shared.messaging.kafka import make_broker, publish_function
from shared.messaging.relay import OutboxRelay
from shared.store.port import OutboxMessage
from shared.store.sqlite import SqliteStore

PAYLOAD = b"x" * 800  # the services' records average ~800 bytes


async def measure(
    bootstrap: str, data: Path, rate: float, seconds: float, hold_ms: float, backlog: int
) -> dict[str, Any]:
    store = SqliteStore(data / "relay.sqlite3")
    await store.open()
    broker = make_broker(bootstrap, client_id="relay-bench")
    await broker.connect()
    send = publish_function(broker)
    started: dict[bytes, float] = {}
    acked: dict[bytes, float] = {}

    async def publish(message: OutboxMessage) -> None:
        started.setdefault(message.payload, time.perf_counter())
        await send(message.topic, message.payload, message.headers, message.key)
        acked.setdefault(message.payload, time.perf_counter())

    committed: dict[bytes, float] = {}

    async def transaction(i: int) -> None:
        async with store.transaction() as uow:
            await uow.collection("docs").put(f"k{i}", {"n": i})
            await asyncio.sleep(hold_ms / 1000)  # the handler's work, holding the writer
            names = [f"{i}-a".encode() + PAYLOAD, f"{i}-b".encode() + PAYLOAD]
            for name in names:
                uow.add_outbox(OutboxMessage("relay.bench", f"key{i}", name, {"ce-id": str(i)}))
            await uow.commit()
        for name in names:
            committed[name] = time.perf_counter()

    relay = OutboxRelay(store, publish, Clock())
    relay.start()
    try:
        await transaction(-1)  # topic created, producer warm
        await until_sent(store, 30)
        committed.clear()
        t0 = time.perf_counter()
        tasks = []
        for i in range(int(rate * seconds)):
            if (wait := t0 + i / rate - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(transaction(i)))
        await asyncio.gather(*tasks)
        await until_sent(store, 30)
        fixed = {
            "rows": len(committed),
            "commit -> publish started": summary(
                [(started[n] - c) * 1000 for n, c in committed.items() if n in started]
            ),
            "commit -> acknowledged": summary(
                [(acked[n] - c) * 1000 for n, c in committed.items() if n in acked]
            ),
        }
    finally:
        await relay.stop()
    async with store.transaction() as uow:  # a backlog, the relay stopped
        for i in range(backlog):
            uow.add_outbox(OutboxMessage("relay.bench", f"b{i % 500}", b"b%d" % i + PAYLOAD, {}))
        await uow.commit()
    relay = OutboxRelay(store, publish, Clock())
    t0 = time.perf_counter()
    relay.start()
    await until_sent(store, 120)
    drained = time.perf_counter() - t0
    await relay.stop()
    await broker.stop()
    await store.close()
    return {
        "fixed_rate": fixed,
        "backlog": {"rows": backlog, "rows_per_s": round(backlog / drained, 1)},
    }


async def until_sent(store: SqliteStore, timeout_s: float) -> None:
    """Polled, as the runtime's drain is: the store tells of commits, not of rows sent."""
    deadline = time.perf_counter() + timeout_s
    while await store.pending_outbox():  # noqa: ASYNC110
        if time.perf_counter() > deadline:
            raise TimeoutError(f"outbox not sent within {timeout_s} s")
        await asyncio.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.relay_bench")
    p.add_argument("--rate", type=float, default=200.0, help="transactions per second (200)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--hold-ms", type=float, default=2.0, help="writer held per transaction (2)")
    p.add_argument("--backlog", type=int, default=5000)
    args = p.parse_args(argv)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        broker = subprocess.Popen(broker_command("127.0.0.1", port), stdout=subprocess.DEVNULL)
        try:
            wait_for_port("127.0.0.1", port)
            result = uvloop.run(
                measure(
                    f"127.0.0.1:{port}",
                    Path(tmp),
                    args.rate,
                    args.seconds,
                    args.hold_ms,
                    args.backlog,
                )
            )
        finally:
            broker.terminate()
            broker.wait()
    print(json.dumps({"settings": vars(args)} | result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

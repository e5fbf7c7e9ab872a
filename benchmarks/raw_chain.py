"""The baseline, on the same broker in the same run: three raw aiokafka consume -> produce
hops (`raw_hop`, a process each), `raw.0 -> raw.1 -> raw.2 -> raw.3`, fed with copies
of the services' own records (same keys, payloads and headers: the same sizes).

1. One hop alone on a backlog, as each service is measured (`backlog`): N records wait
   on its input, the hop is told to go, its committed offset is followed to the end.
   Done for each of the three hops, one after the other.
2. The chain: all three hops running, N more records produced into `raw.0`; the time
   from the first one sent until the last one is committed by the third hop.
3. One hop in the services' shape (`single`: one record, send and wait, commit), alone
   on a backlog of N / SINGLE_SHARE.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from benchmarks.kafka_watch import GroupOffsets, partitions
from benchmarks.load import now
from benchmarks.procstat import ProcessBook
from benchmarks.stats import drain_rate
from benchmarks.system import reap

REPO = Path(__file__).resolve().parents[1]
HOPS = 3
TIMEOUT_S = 60.0
SINGLE_SHARE = 10  # the one-at-a-time hop is ~20x slower: a smaller backlog
HOLD_SETTLE_S = 0.5  # a hop told to hold may still be in a 100 ms fetch
Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def topic(i: int) -> str:
    return f"raw.{i}"


def group(i: int) -> str:
    return f"raw.hop{i}"


class Hop:
    def __init__(self, i: int, bootstrap: str, book: ProcessBook, log: Path) -> None:
        self.i = i
        self.role = f"raw hop {i}"
        with log.open("ab") as err:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.raw_hop",
                    bootstrap,
                    topic(i - 1),
                    topic(i),
                    group(i),
                ],
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        book.add(self.role, self.process.pid)

    async def ready(self) -> None:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), TIMEOUT_S)
        if line.strip() != b"ready":
            raise RuntimeError(f"raw hop {self.i} did not start: {line!r}")

    def tell(self, mode: str) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(mode.encode() + b"\n")
            self.process.stdin.flush()
        except OSError as error:  # it died: its traceback is in the log
            raise RuntimeError(f"raw hop {self.i} is gone (see raw-hops.log)") from error


async def seed(producer: AIOKafkaProducer, records: Sequence[Record], n: int) -> None:
    """n copies of the sample records into raw.0, sent as fast as the producer batches."""
    futures = [
        await producer.send(topic(0), value, key=key, headers=headers)
        for key, value, headers in (records[k % len(records)] for k in range(n))
    ]
    await asyncio.gather(*futures)


async def run_raw_chain(
    bootstrap: str,
    book: ProcessBook,
    producer: AIOKafkaProducer,
    records: Sequence[Record],
    n: int,
    log: Path,
) -> dict[str, Any]:
    if not records:
        return {"error": "no sample records (the flow produced none)"}
    ins = {i: await partitions(producer, topic(i - 1)) for i in range(1, HOPS + 1)}
    await partitions(producer, topic(HOPS))
    hops = [Hop(i, bootstrap, book, log) for i in range(1, HOPS + 1)]
    result: dict[str, Any] = {
        "messages": n,
        "payload_bytes_mean": round(sum(len(v) for _, v, _ in records) / len(records)),
        "record_kinds": len(records),
    }
    try:
        await asyncio.gather(*(hop.ready() for hop in hops))
        await seed(producer, records, n)
        alone = []
        for hop in hops:  # each alone on its backlog of n
            alone.append(await _drain(bootstrap, book, hop, ins[hop.i], "batch"))
            hop.tell("hold")
        result["hop_alone_batch"] = alone
        # The chain: every hop going, n more records in.
        for hop in hops:
            hop.tell("batch")
        started = now()
        async with GroupOffsets(bootstrap, group(HOPS), ins[HOPS]) as last:
            target = await last.committed() + n
            await seed(producer, records, n)
            samples = await last.follow(target, TIMEOUT_S)
        ended = samples[-1][0]
        chain = {"seconds": round(ended - started, 3)}
        if samples[-1][1] >= target:
            chain["messages_per_s"] = round(n / (ended - started), 1)
        else:
            chain["error"] = f"the chain did not finish within {TIMEOUT_S:.0f} s"
        result["chain"] = chain
        for hop in hops:
            hop.tell("hold")
        # A hop finishes the fetch it is in (up to 100 ms) before it holds: seeded sooner,
        # hop 1 took the single backlog in batch mode and none was left to time.
        await asyncio.sleep(HOLD_SETTLE_S)
        # The services' shape: one record at a time, committed one by one.
        await seed(producer, records, max(1, n // SINGLE_SHARE))
        result["hop_alone_single"] = await _drain(bootstrap, book, hops[0], ins[1], "single")
        hops[0].tell("hold")
    finally:
        for hop in hops:
            with suppress(RuntimeError):
                hop.tell("quit")
        for hop in hops:
            usage = await reap(hop.process, TIMEOUT_S)
            book.ended(hop.role, hop.process.pid, usage)
    return result


async def _drain(
    bootstrap: str, book: ProcessBook, hop: Hop, assigned: list[Any], mode: str
) -> dict[str, Any]:
    def cpu() -> float:
        book.sample()
        return book.cpu().get(hop.role, 0.0)

    async with GroupOffsets(bootstrap, group(hop.i), assigned) as offsets:
        end = await offsets.end()
        hop.tell(mode)
        samples = await offsets.follow(end, TIMEOUT_S, probe=cpu)
    timed = drain_rate([(t, c) for t, c, _ in samples], end)
    out: dict[str, Any] = {"hop": hop.i, "mode": mode, "backlog": end - samples[0][1]}
    if timed is None:
        out["error"] = "the drain was not seen"
        return out
    cpu_s = samples[timed.last][2] - samples[timed.first][2]
    return out | {
        "events_per_s": round(timed.per_second, 1),
        "seconds": round(timed.seconds, 3),
        "cpu_ms_per_event": round(cpu_s * 1000 / timed.events, 3),
        "samples": timed.samples,
    }

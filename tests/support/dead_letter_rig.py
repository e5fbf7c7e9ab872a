"""A reader that dead-letters events it cannot decode yet, on the real broker: the rig
of the dead-letter tools' tests (`tools.dead_letters`, `csp dead-letters`).

`readable` holds the subjects its decoding understands (add one: the fix is deployed);
`handled` what it handled since; `producer` publishes to its topic.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.clock import Clock
from shared.events import LicensesAssigned
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.store.sqlite import SqliteStore
from tests.support.kernel import Count, TallyUnitOfWork, count_from, tally_bus

REPO = Path(__file__).resolve().parents[2]


@dataclass
class DeadLetterRig:
    consumer: EventConsumer
    producer: Any  # a started FastStream KafkaBroker
    readable: set[str] = field(default_factory=set)
    handled: list[tuple[str, int]] = field(default_factory=list)

    async def stat(self, name: str) -> int:
        await asyncio.sleep(0)
        return self.consumer.stats[name]

    async def handled_now(self) -> list[tuple[str, int]]:
        await asyncio.sleep(0)
        return list(self.handled)


@asynccontextmanager
async def refusing_reader(
    bootstrap: str, workdir: Path, service: str, topic: str
) -> AsyncIterator[DeadLetterRig]:
    """A service `service` whose consumer `<service>.reader` reads `topic`."""
    rig: DeadLetterRig

    def decode(event: LicensesAssigned) -> Count:
        if event.subject not in rig.readable:
            raise ValueError(f"cannot read {event.subject}'s facts yet")
        return count_from(event)

    async def note(command: Count, uow: TallyUnitOfWork) -> None:
        rig.handled.append((command.subscription_id, command.assigned_count))

    store = SqliteStore(workdir / f"{service}.sqlite3")
    consumer = EventConsumer(
        name=f"{service}.reader",
        topic=topic,
        bus=tally_bus(store, clock=Clock(), handlers={Count: note}),
        commands={LicensesAssigned: decode},
    )
    runtime = ServiceRuntime(
        name=service,
        store=store,
        broker=make_broker(bootstrap, client_id=service, graceful_timeout=1.0),
        clock=Clock(),
        consumers=[consumer],
    )
    await runtime.start()
    producer = make_broker(bootstrap, client_id="producer")
    await producer.start()
    rig = DeadLetterRig(consumer, producer)
    try:
        yield rig
    finally:
        await producer.stop()
        await runtime.stop()


async def run_module(
    module: str, bootstrap: str, *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    """`python -m MODULE ARGS` as the operator would run it: exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=REPO,
        env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PATH": "/usr/bin:/bin"},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()

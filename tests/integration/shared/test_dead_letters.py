"""Dead letters against the real broker process: a consumer dead-letters what it cannot
decode; `python -m tools.dead_letters` lists them and replays chosen ones to their
original topic (original key and headers, minus the dead-letter ones), where the fixed
consumer handles them; a second replay is skipped by the inbox.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from shared.clock import Clock
from shared.events import LicensesAssigned
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.store.sqlite import SqliteStore
from tests.support.kernel import Count, TallyUnitOfWork, count_from, licenses_assigned, tally_bus
from tests.support.polling import eventually
from tests.support.topics import read_records

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[3]
TOPIC = "letters.events"


async def command(bootstrap: str, *args: str) -> tuple[int, str, str]:
    """Run `python -m tools.dead_letters ARGS` as the operator would."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools.dead_letters",
        *args,
        cwd=REPO,
        env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def stat(consumer: EventConsumer, name: str) -> int:
    await asyncio.sleep(0)
    return consumer.stats[name]


async def test_dead_letters_are_listed_and_replayed_to_their_topic_after_the_fix(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    readable: set[str] = set()  # subjects this consumer's decoding understands so far
    handled: list[tuple[str, int]] = []

    def decode(event: LicensesAssigned) -> Count:
        if event.subject not in readable:
            raise ValueError(f"cannot read {event.subject}'s facts yet")
        return count_from(event)

    async def note(command: Count, uow: TallyUnitOfWork) -> None:
        handled.append((command.subscription_id, command.assigned_count))

    store = SqliteStore(tmp_path / "receiver.sqlite3")
    consumer = EventConsumer(
        name="letters.reader",
        topic=TOPIC,
        bus=tally_bus(store, clock=Clock(), handlers={Count: note}),
        commands={LicensesAssigned: decode},
    )
    service = ServiceRuntime(
        name="letters",
        store=store,
        broker=make_broker(kafka_bootstrap, client_id="letters", graceful_timeout=1.0),
        clock=Clock(),
        consumers=[consumer],
    )
    await service.start()
    producer = make_broker(kafka_bootstrap, client_id="producer")
    await producer.start()
    try:
        odd = licenses_assigned("sub-odd", 4)
        headers = {"ce-id": str(odd.id), "ce-type": odd.type, "traceparent": "t-1"}
        await producer.publish(odd.to_bytes(), topic=TOPIC, key=b"sub-odd", headers=headers)
        await producer.publish(b"{not json", topic=TOPIC, key=b"sub-junk", headers={"x": "y"})
        await eventually(lambda: stat(consumer, "dead_lettered"), lambda n: n == 2)

        code, out, _ = await command(kafka_bootstrap, "list", "--json", "--topic", TOPIC)
        assert code == 0
        junk, listed = sorted(
            (json.loads(line) for line in out.splitlines()), key=lambda r: r["type"]
        )
        assert listed["topic"] == "letters.events.dlq"
        assert listed["eventId"] == str(odd.id)
        assert (listed["type"], listed["subject"]) == ("LicensesAssigned", "sub-odd")
        assert listed["consumer"] == "letters.reader"
        assert listed["originalTopic"] == TOPIC
        assert listed["originalOffset"] == "0"
        assert listed["error"] == "ValueError: cannot read sub-odd's facts yet"
        assert listed["time"].startswith("20")
        assert junk["error"].startswith("JSONDecodeError")
        assert (junk["eventId"], junk["subject"]) == ("", "sub-junk")

        code, out, _ = await command(kafka_bootstrap, "list", "--service", "ordering")
        assert (code, out.strip()) == (0, "no dead letters")
        code, _, err = await command(kafka_bootstrap, "replay", "--offset", "99")
        assert code == 2
        assert "no dead letter at offset 99" in err

        readable.add("sub-odd")  # the fix is deployed
        code, out, _ = await command(kafka_bootstrap, "replay", "--event-id", str(odd.id))
        assert code == 0, out
        assert "-> letters.events key=sub-odd LicensesAssigned" in out
        await eventually(lambda: asyncio.sleep(0, handled), lambda h: h == [("sub-odd", 4)])

        original, _, replayed = await read_records(kafka_bootstrap, TOPIC, at_least=3)
        assert replayed.key == original.key == b"sub-odd"
        assert replayed.value == original.value == odd.to_bytes()
        assert replayed.headers == original.headers  # the dead-letter ones dropped
        assert {k: v.decode() for k, v in replayed.headers}.items() >= headers.items()

        # Everything again: the inbox skips the handled one; the junk is junk again.
        code, out, _ = await command(kafka_bootstrap, "replay", "--all", "--topic", TOPIC)
        assert code == 0
        await eventually(lambda: stat(consumer, "duplicate"), lambda n: n == 1)
        await eventually(lambda: stat(consumer, "dead_lettered"), lambda n: n == 3)
        assert handled == [("sub-odd", 4)]
        assert consumer.stalled == {}
    finally:
        await producer.stop()
        await service.stop()

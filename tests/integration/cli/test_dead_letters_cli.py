"""`csp dead-letters` against the real broker process: a consumer dead-letters an event
it cannot decode yet; the CLI lists it (table and JSON), the operator chooses it at the
prompt or by offset with --yes, and after the fix the replayed event reaches the
consumer again on its original topic, with its original key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.dead_letter_rig import refusing_reader, run_module
from tests.support.kernel import licenses_assigned
from tests.support.polling import eventually
from tests.support.topics import read_records

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

TOPIC = "cli-letters.events"


async def csp(bootstrap: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """`python -m csp_cli ARGS` (what the `csp` script runs), as the operator would."""
    return await run_module("csp_cli", bootstrap, *args, stdin=stdin)


async def test_a_real_dead_letter_is_listed_chosen_and_replayed(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with refusing_reader(kafka_bootstrap, tmp_path, "cli", TOPIC) as rig:
        first, second = licenses_assigned("sub-a", 3), licenses_assigned("sub-b", 7)
        for event in (first, second):
            headers = {"ce-id": str(event.id), "ce-type": event.type}
            key = event.subject.encode()
            await rig.producer.publish(event.to_bytes(), topic=TOPIC, key=key, headers=headers)
        await eventually(lambda: rig.stat("dead_lettered"), lambda n: n == 2)

        code, out, err = await csp(kafka_bootstrap, "dead-letters", "list")
        assert code == 0, err
        row_a = next(line for line in out.splitlines() if str(first.id) in line)
        assert "cli-letters.events.dlq" in row_a
        assert "LicensesAssigned" in row_a
        assert "sub-a" in row_a
        assert "cli.reader" in row_a
        assert "ValueError: cannot read sub-a's facts yet" in row_a

        code, out, err = await csp(kafka_bootstrap, "dead-letters", "list", "--json")
        assert code == 0, err
        listed = {r["subject"]: r for r in json.loads(out)}
        assert set(listed) == {"sub-a", "sub-b"}
        assert listed["sub-a"]["eventId"] == str(first.id)
        assert json.loads(listed["sub-a"]["payload"])["id"] == str(first.id)
        where_b = f"{listed['sub-b']['partition']}:{listed['sub-b']['offset']}"

        # CI has no stdin: no choice, or no confirmation, publishes nothing.
        code, _, err = await csp(kafka_bootstrap, "dead-letters", "replay", "--yes")
        assert code == 2
        assert "name what to replay: --offset, --event-id or --all" in err
        code, out, err = await csp(kafka_bootstrap, "dead-letters", "replay", "--offset", where_b)
        assert code == 1
        assert "Aborted" in err
        code, _, err = await csp(
            kafka_bootstrap, "dead-letters", "replay", "--offset", "99", "--yes"
        )
        assert code == 2
        assert "nothing replayed: no dead letter at offset 99" in err

        rig.readable.update({"sub-a", "sub-b"})  # the fix is deployed
        # The operator picks sub-a's event at the prompt, then confirms.
        code, out, err = await csp(
            kafka_bootstrap, "dead-letters", "replay", stdin=f"{first.id}\ny\n"
        )
        assert code == 0, err
        assert f"-> {TOPIC} key=sub-a LicensesAssigned {first.id}" in out
        await eventually(rig.handled_now, lambda h: h == [("sub-a", 3)])

        code, out, err = await csp(
            kafka_bootstrap, "dead-letters", "replay", "--offset", where_b, "--yes"
        )
        assert code == 0, err
        assert f"-> {TOPIC} key=sub-b LicensesAssigned {second.id}" in out
        await eventually(rig.handled_now, lambda h: h == [("sub-a", 3), ("sub-b", 7)])

        records = await read_records(kafka_bootstrap, TOPIC, at_least=4)
        replayed = records[2:]
        assert [(r.key, r.value) for r in replayed] == [
            (b"sub-a", first.to_bytes()),
            (b"sub-b", second.to_bytes()),
        ]
        assert all(not k.startswith("x-dlq-") for r in replayed for k, _ in r.headers)
        assert rig.consumer.stats["dead_lettered"] == 2  # nothing dead-lettered again

"""Dead letters against the real broker process: a consumer dead-letters what it cannot
decode; `python -m tools.dead_letters` lists them and replays chosen ones to their
original topic (original key and headers, minus the dead-letter ones), where the fixed
consumer handles them; a second replay is skipped by the inbox.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.dead_letter_rig import refusing_reader, run_module
from tests.support.kernel import licenses_assigned
from tests.support.polling import eventually
from tests.support.topics import read_records

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

TOPIC = "letters.events"


async def command(bootstrap: str, *args: str) -> tuple[int, str, str]:
    """Run `python -m tools.dead_letters ARGS` as the operator would."""
    return await run_module("tools.dead_letters", bootstrap, *args)


async def test_dead_letters_are_listed_and_replayed_to_their_topic_after_the_fix(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with refusing_reader(kafka_bootstrap, tmp_path, "letters", TOPIC) as rig:
        odd = licenses_assigned("sub-odd", 4)
        headers = {"ce-id": str(odd.id), "ce-type": odd.type, "traceparent": "t-1"}
        await rig.producer.publish(odd.to_bytes(), topic=TOPIC, key=b"sub-odd", headers=headers)
        await rig.producer.publish(b"{not json", topic=TOPIC, key=b"sub-junk", headers={"x": "y"})
        await eventually(lambda: rig.stat("dead_lettered"), lambda n: n == 2)

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

        rig.readable.add("sub-odd")  # the fix is deployed
        code, out, _ = await command(kafka_bootstrap, "replay", "--event-id", str(odd.id))
        assert code == 0, out
        assert "-> letters.events key=sub-odd LicensesAssigned" in out
        await eventually(rig.handled_now, lambda h: h == [("sub-odd", 4)])

        original, _, replayed = await read_records(kafka_bootstrap, TOPIC, at_least=3)
        assert replayed.key == original.key == b"sub-odd"
        assert replayed.value == original.value == odd.to_bytes()
        assert replayed.headers == original.headers  # the dead-letter ones dropped
        assert {k: v.decode() for k, v in replayed.headers}.items() >= headers.items()

        # Everything again: the inbox skips the handled one; the junk is junk again.
        code, out, _ = await command(kafka_bootstrap, "replay", "--all", "--topic", TOPIC)
        assert code == 0
        await eventually(lambda: rig.stat("duplicate"), lambda n: n == 1)
        await eventually(lambda: rig.stat("dead_lettered"), lambda n: n == 3)
        assert rig.handled == [("sub-odd", 4)]
        assert rig.consumer.stalled == {}

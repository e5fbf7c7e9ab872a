"""List and replay dead letters: the events a consumer could never decode.

    python -m tools.dead_letters list [--topic TOPIC ...] [--service NAME ...] [--json]
    python -m tools.dead_letters replay (--offset [PARTITION:]N ... | --event-id ID ... | --all)
                                        [--topic TOPIC ...] [--service NAME ...] [--dry-run]

Reads the `<topic>.dlq` topics of the cluster at KAFKA_BOOTSTRAP_SERVERS (default
127.0.0.1:9092) from their beginning, without a consumer group: listing changes nothing.
`--topic` takes an event topic (`provisioning.subscriptions`) or its dead-letter topic;
`--service` keeps what that service's consumers dead-lettered (`billing` for
`billing.activations`). `list` shows for each: where it is in the dead-letter topic
(partition:offset), when it was dead-lettered, the event id, type and subject, the
consumer, the original topic and the error.

`replay` publishes the chosen ones back to their original topic, with their original
key (so a subscription's events share a partition) and original headers minus the
`x-dlq-*` ones; an event that several consumer groups dead-lettered goes back once. Every
consumer group of that topic reads it again: inboxes skip it where it was handled, so
replaying is safe; one still undecodable is dead-lettered again. An offset `N` alone
must name one record: add the partition (`1:N`) or `--topic` when it does not. Replay
after the fix that makes them readable is deployed. Dead letters stay in their topic
(until its retention) whether replayed or not.

Exit 0: done. 2: nothing matched a selector (nothing was published).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

from shared.events.topics import dead_letter_topic, is_dead_letter_topic
from shared.messaging.dead_letters import (
    DeadLetterRecord,
    NotSelected,
    dead_letter_topics,
    once_each,
    read_dead_letters,
    replay,
    select,
)

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
COLUMNS = ("at", "time", "eventId", "type", "subject", "consumer", "originalTopic", "error")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.dead_letters", description="List and replay dead letters."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "replay"):
        command = commands.add_parser(name)
        command.add_argument("--topic", action="append", default=[], metavar="TOPIC")
        command.add_argument("--service", action="append", default=[], metavar="NAME")
        command.add_argument(
            "--bootstrap-servers",
            default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP),
        )
    listing = commands.choices["list"]
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    replaying = commands.choices["replay"]
    chosen = replaying.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--offset", action="append", default=[], metavar="[PARTITION:]N")
    chosen.add_argument("--event-id", action="append", default=[], metavar="ID")
    chosen.add_argument("--all", action="store_true")
    replaying.add_argument("--dry-run", action="store_true", help="show, publish nothing")
    return parser.parse_args(argv)


async def records_of(args: argparse.Namespace) -> list[DeadLetterRecord]:
    wanted = {t if is_dead_letter_topic(t) else dead_letter_topic(t) for t in args.topic}
    existing = await dead_letter_topics(args.bootstrap_servers)
    topics = [t for t in existing if not wanted or t in wanted]
    records = await read_dead_letters(args.bootstrap_servers, topics)
    if args.service:
        records = [r for r in records if r.service in args.service]
    return records


def table(records: Sequence[DeadLetterRecord]) -> str:
    if not records:
        return "no dead letters"
    lines: list[str] = []
    for topic in dict.fromkeys(r.topic for r in records):
        lines.append(f"{topic}:")
        for record in (r for r in records if r.topic == topic):
            row = record.summary()
            row["at"] = record.position
            lines.append("  " + "  ".join(str(row[c]) for c in COLUMNS))
    return "\n".join(lines)


async def main(argv: Sequence[str]) -> int:
    args = parse(argv)
    records = await records_of(args)
    if args.command == "list":
        if args.json:
            for record in records:
                print(json.dumps(record.summary()))
        else:
            print(table(records))
        return 0
    try:
        chosen = select(records, offsets=args.offset, event_ids=args.event_id, everything=args.all)
    except NotSelected as refusal:
        print(f"nothing replayed: {refusal}", file=sys.stderr)
        return 2
    if not chosen:
        print("nothing to replay", file=sys.stderr)
        return 2
    published = once_each(chosen) if args.dry_run else await replay(args.bootstrap_servers, chosen)
    verb = "would replay" if args.dry_run else "replayed"
    for record in published:
        print(
            f"{verb} {record.topic} {record.position} -> {record.original_topic}"
            f" key={record.replay_key} {record.event_type} {record.event_id}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))

"""`csp dead-letters list|replay`: the events a consumer could never decode, and
publishing chosen ones back to their original topic once the fix is deployed (README,
"Delivery semantics"). Replaying is safe: inboxes skip what they handled."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer

from csp_cli.connection import BOOTSTRAP
from csp_cli.failures import UsageFailure
from csp_cli.formatting import console, dead_letters_table, emit, emit_json, note
from csp_cli.options import Json

if TYPE_CHECKING:
    from shared.messaging.dead_letters import DeadLetterRecord

# The Kafka client and the event models are imported by these commands only, when
# they run: every other command starts without them.

app = typer.Typer(help="Dead letters: events a consumer could never decode.", no_args_is_help=True)

Bootstrap = Annotated[
    str,
    typer.Option(
        "--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS", help="The Kafka bootstrap servers."
    ),
]
Topics = Annotated[
    list[str] | None,
    typer.Option("--topic", help="Only this topic's (an event topic or its .dlq); repeatable."),
]
Services = Annotated[
    list[str] | None,
    typer.Option("--service", help="Only what this service's consumers dead-lettered; repeatable."),
]
_OFFSET = re.compile(r"(\d+:)?\d+")


def _read(
    bootstrap: str, topics: list[str] | None, services: list[str] | None
) -> list[DeadLetterRecord]:
    from csp_cli import broker

    with console(stderr=True).status(f"reading the dead-letter topics at {bootstrap}"):
        return broker.read(bootstrap, topics or (), services or ())


@app.command("list")
def list_dead_letters(
    bootstrap: Bootstrap = BOOTSTRAP,
    topic: Topics = None,
    service: Services = None,
    json: Json = False,
) -> None:
    """List the dead letters.

    Where each is (partition:offset), when, the event, the consumer that gave up on it
    and the error. Changes nothing.
    """
    records = _read(bootstrap, topic, service)
    if json:
        emit_json([_as_json(r) for r in records])
    elif not records:
        emit("no dead letters")
    else:
        emit(dead_letters_table(records))


def _as_json(record: DeadLetterRecord) -> dict[str, object]:
    return {**record.summary(), "payload": record.payload.decode(errors="replace")}


@app.command("replay")
def replay_dead_letters(
    offset: Annotated[
        list[str] | None,
        typer.Option("--offset", help="[PARTITION:]N in its dead-letter topic; repeatable."),
    ] = None,
    event_id: Annotated[
        list[str] | None, typer.Option("--event-id", help="The event's id; repeatable.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead letter selected.")] = False,
    bootstrap: Bootstrap = BOOTSTRAP,
    topic: Topics = None,
    service: Services = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, publish nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Publish chosen dead letters back to their original topic.

    With their original key and headers. Without --offset, --event-id or --all it
    lists them and asks which.
    """
    from csp_cli import broker
    from shared.messaging.dead_letters import NotSelected, once_each, select

    offsets, event_ids = list(offset or ()), list(event_id or ())
    if every and (offsets or event_ids):
        raise UsageFailure("--all or a choice (--offset, --event-id), not both")
    records = _read(bootstrap, topic, service)
    if not records:
        raise UsageFailure("no dead letters: nothing to replay")
    if not (every or offsets or event_ids):
        if yes:  # nobody to ask
            raise UsageFailure("name what to replay: --offset, --event-id or --all")
        emit(dead_letters_table(records))
        every, offsets, event_ids = _ask_which()
    try:
        chosen = once_each(select(records, offsets=offsets, event_ids=event_ids, everything=every))
    except NotSelected as refusal:
        raise UsageFailure(f"nothing replayed: {refusal}") from None
    if not chosen:
        raise UsageFailure("nothing chosen: nothing replayed")
    emit(dead_letters_table(chosen, title="To replay"))
    if dry_run:
        note("dry run: nothing published")
        return
    if not yes:
        typer.confirm(f"Replay these {len(chosen)} to their original topics?", abort=True)
    with console(stderr=True).status(f"replaying {len(chosen)}"):
        published = broker.publish(bootstrap, chosen)
    for record in published:
        emit(
            f"replayed {record.topic} {record.position} -> {record.original_topic} "
            f"key={record.replay_key} {record.event_type or '-'} {record.event_id or '-'}"
        )


def _ask_which() -> tuple[bool, list[str], list[str]]:
    """The operator's choice: positions ([PARTITION:]N), event ids, or `all`."""
    answer = typer.prompt(
        "Replay which? [PARTITION:]OFFSET or event ids, separated by spaces or commas, or all"
    )
    words = [w for w in re.split(r"[\s,]+", answer.strip()) if w]
    if [w.lower() for w in words] == ["all"]:
        return True, [], []
    offsets = [w for w in words if _OFFSET.fullmatch(w)]
    return False, offsets, [w for w in words if not _OFFSET.fullmatch(w)]

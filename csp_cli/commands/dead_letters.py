"""`csp dead-letters list|replay`: the events a consumer could never decode, and
publishing chosen ones back to their original topic once the fix is deployed (README,
"Delivery semantics"). Replaying is safe: inboxes skip what they handled.

Both go through the ops dashboard's API (`GET /api/dead-letters`,
`POST /api/dead-letters/replay`) with its operator credential (--dashboard-token /
CSP_DASHBOARD_TOKEN): the dashboard holds the newest dead letters of every `.dlq` topic
(CSP_DASHBOARD_MAX_DEAD_LETTERS) and names each `TOPIC:PARTITION:OFFSET`."""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from csp_cli.client import ApiClient
from csp_cli.connection import connection
from csp_cli.failures import UsageFailure
from csp_cli.formatting import console, dead_letters_table, emit, emit_json, note
from csp_cli.options import Json
from csp_cli.progress import Steps

app = typer.Typer(help="Dead letters: events a consumer could never decode.", no_args_is_help=True)

LIST = "/api/dead-letters"
REPLAY = "/api/dead-letters/replay"
MOST = 1000  # the most the dashboard lists in one answer
BATCH = 20  # dead letters per replay request: the progress moves batch by batch
DLQ = ".dlq"

Topics = Annotated[
    list[str] | None,
    typer.Option("--topic", help="Only this topic's (an event topic or its .dlq); repeatable."),
]
Services = Annotated[
    list[str] | None,
    typer.Option("--service", help="Only what this service's consumers dead-lettered; repeatable."),
]


def _read(
    dashboard: ApiClient, topics: Sequence[str] | None, services: Sequence[str] | None
) -> list[dict[str, Any]]:
    """The dead letters the dashboard holds, newest first, of these topics and services
    (default: all); a note when the dashboard no longer holds older ones."""
    wanted = [t if t.endswith(DLQ) else t + DLQ for t in topics or ()] or [None]
    found: dict[str, dict[str, Any]] = {}
    dropped = 0
    with console(stderr=True).status(f"reading the dead letters at {dashboard.base_url}"):
        for topic in dict.fromkeys(wanted):
            for service in dict.fromkeys(services or [None]):
                page = dashboard.get(LIST, topic=topic, service=service, limit=MOST)
                found.update((item["id"], item) for item in page.get("items", []))
                dropped = max(dropped, int(page.get("dropped") or 0))
                if int(page.get("totalCount") or 0) > len(page.get("items", [])):
                    note(f"only the newest {MOST} of {page['totalCount']} are listed")
    if dropped:
        note(
            f"the dashboard no longer holds {dropped} older dead letters "
            "(CSP_DASHBOARD_MAX_DEAD_LETTERS); python -m tools.dead_letters reads the topics"
        )
    return sorted(found.values(), key=lambda d: (d["time"], d["id"]), reverse=True)


@app.command("list")
def list_dead_letters(
    ctx: typer.Context,
    topic: Topics = None,
    service: Services = None,
    json: Json = False,
) -> None:
    """List the dead letters, newest first.

    Each one's id (TOPIC:PARTITION:OFFSET, what `replay` takes), when, the event, the
    consumer that gave up on it and the error. Changes nothing.
    """
    letters = _read(connection(ctx).dashboard(extra=False), topic, service)
    if json:
        emit_json(letters)
    elif not letters:
        emit("no dead letters")
    else:
        emit(dead_letters_table(letters))


@app.command("replay")
def replay_dead_letters(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Dead letters by id (TOPIC:PARTITION:OFFSET, as listed) or by event id.",
            show_default=False,
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead letter selected.")] = False,
    topic: Topics = None,
    service: Services = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, publish nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json: Json = False,
) -> None:
    """Publish chosen dead letters back to their original topic.

    With their original value, key and headers. Without ids or --all it lists them and
    asks which.
    """
    wanted = list(ids or ())
    if every and wanted:
        raise UsageFailure("--all or ids, not both")
    dashboard = connection(ctx).dashboard(extra=False)
    letters = _read(dashboard, topic, service)
    if not letters:
        raise UsageFailure("no dead letters: nothing to replay")
    if not (every or wanted):
        if yes:  # nobody to ask
            raise UsageFailure("name what to replay: ids (as listed), event ids or --all")
        emit(dead_letters_table(letters))
        every, wanted = _ask_which()
    chosen, skipped = _once_each(letters if every else _select(letters, wanted))
    if not chosen:
        raise UsageFailure("nothing chosen: nothing replayed")
    table = dead_letters_table(chosen, title="To replay")
    if json:  # stdout is the JSON's alone
        console(stderr=True).print(table)
    else:
        emit(table)
    for letter, first in skipped:
        note(f"{letter['id']} is the same event as {first['id']}: replayed once")
    if dry_run:
        note("dry run: nothing published")
        return
    if not yes:
        typer.confirm(f"Replay these {len(chosen)} to their original topics?", abort=True)
    replayed = _replay(dashboard, [letter["id"] for letter in chosen])
    if json:
        emit_json(replayed)
        return
    for went in replayed:
        emit(
            f"replayed {went['id']} -> {went['originalTopic']} "
            f"{went['partition']}:{went['offset']} key={went['key']} "
            f"{went['type'] or '-'} {went['eventId'] or '-'}"
        )


def _select(letters: list[dict[str, Any]], wanted: Sequence[str]) -> list[dict[str, Any]]:
    """The dead letters named by id or event id, newest first; every name must match."""
    chosen: set[str] = set()
    for name in wanted:
        found = [d["id"] for d in letters if name in (d["id"], d.get("eventId"))]
        if not found:
            raise UsageFailure(
                f"nothing replayed: no dead letter {name} among the {len(letters)} the "
                "dashboard holds (`csp dead-letters list`)"
            )
        chosen.update(found)
    return [d for d in letters if d["id"] in chosen]


def _once_each(
    letters: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """The first of each event (same original topic, same payload): several consumer
    groups of one topic dead-letter the same undecodable event, and it goes back once.
    The dashboard does so within one request too; this spans the batches."""
    first_of: dict[tuple[str, str], dict[str, Any]] = {}
    skipped = []
    for letter in letters:
        payload = jsonlib.dumps(letter.get("payload"), sort_keys=True)
        first = first_of.setdefault((letter.get("originalTopic") or "", payload), letter)
        if first is not letter:
            skipped.append((letter, first))
    return list(first_of.values()), skipped


def _replay(dashboard: ApiClient, ids: list[str]) -> list[dict[str, Any]]:
    """Batch by batch, with the progress on stderr; what went where."""
    replayed: list[dict[str, Any]] = []
    with Steps(len(ids)) as steps:
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            steps.now("replaying", f"{batch[0]}{' …' if len(batch) > 1 else ''}")
            answer = dashboard.post(REPLAY, {"ids": batch})
            replayed += answer.get("replayed", [])
            for skipped in answer.get("skipped", []):
                note(
                    f"{skipped['id']} is the same event as {skipped['sameEventAs']}: replayed once"
                )
            steps.done(count=len(batch))
        steps.now("replayed", f"{len(replayed)} published")
    return replayed


_ANY_SEPARATOR = re.compile(r"[\s,]+")


def _ask_which() -> tuple[bool, list[str]]:
    """The operator's choice: ids as listed, event ids, or `all`."""
    answer = typer.prompt("Replay which? ids or event ids, separated by spaces or commas, or all")
    words = [w for w in _ANY_SEPARATOR.split(answer.strip()) if w]
    if [w.lower() for w in words] == ["all"]:
        return True, []
    return False, words

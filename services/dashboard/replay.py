"""Replaying chosen dead letters: each back to its original topic, with its original
value, key and headers (minus the `x-dlq-*` ones), as `shared.messaging.dead_letters`
does from the command line. Every consumer group of that topic reads it again: inboxes
skip it where it was handled, so a replay is safe; one still undecodable is
dead-lettered again.

The dead letters are those the view holds (what `GET /api/dead-letters` lists), named
as it names them (`TOPIC:PARTITION:OFFSET`). Every id is checked before anything is
published: an unknown one, or one whose payload the dashboard did not keep, refuses
the whole request. The producer is the app's: started at the first replay (the
dashboard starts, and shows, without a broker), stopped with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaProducer

from services.dashboard.kafka import CLIENT_ID
from services.dashboard.topics import DEAD_LETTER_TOPICS
from services.dashboard.view import HeldDeadLetter, PipelineView
from shared.errors import Conflict, NotFound, RuleBroken, Unavailable
from shared.http.errors import clip

log = structlog.get_logger(__name__)

MAX_REPLAY_IDS = 100  # per request: the CLI sends more in several
SEND_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Published:
    partition: int
    offset: int


class Publisher(Protocol):
    """Where replayed records go (the broker; a fake in tests)."""

    async def publish(
        self, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Published: ...

    async def stop(self) -> None: ...


class KafkaPublisher:
    """One producer for the app's life, started when first needed; after a failure it
    is dropped and the next replay starts a new one."""

    def __init__(self, bootstrap: str, *, timeout_s: float = SEND_TIMEOUT_S) -> None:
        self._bootstrap = bootstrap
        self._timeout = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def publish(
        self, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Published:
        try:
            producer = await self._started()
            sent = await asyncio.wait_for(
                producer.send_and_wait(topic, value, key=key, headers=headers), self._timeout
            )
        except Exception as error:
            await self.stop()
            raise Unavailable(
                f"the broker at {self._bootstrap} did not take the record "
                f"({clip(str(error) or type(error).__name__, 100)})"
            ) from error
        return Published(sent.partition, sent.offset)

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    client_id=f"{CLIENT_ID}-replay",
                    acks="all",
                    request_timeout_ms=int(self._timeout * 1000),
                )
                try:
                    await asyncio.wait_for(producer.start(), self._timeout)
                except BaseException:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(producer.stop(), 5)
                    raise
                self._producer = producer
            return self._producer

    async def stop(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)


def _position(index: int, text: str) -> tuple[str, int, int]:
    target = f"ids[{index}]"
    topic, _, rest = text.partition(":")
    partition, _, offset = rest.partition(":")
    if not (partition.isdigit() and offset.isdigit()) or not topic:
        raise RuleBroken(
            f"{target}: a dead letter's id is TOPIC:PARTITION:OFFSET, as listed", target
        )
    if topic not in DEAD_LETTER_TOPICS:
        raise RuleBroken(
            f"{target}: {clip(topic)} is not a dead-letter topic: one of "
            + ", ".join(DEAD_LETTER_TOPICS),
            target,
        )
    return topic, int(partition), int(offset)


def chosen(view: PipelineView, ids: Sequence[str]) -> list[HeldDeadLetter]:
    """The dead letters named, in the order named, each once; refused as a whole when
    one is malformed, not held, or held without its payload."""
    found: dict[str, HeldDeadLetter] = {}
    for index, text in enumerate(ids):
        letter = view.dead_letter(*_position(index, text))
        if letter is None:
            dropped = view.dead_letters(limit=1)["dropped"]
            window = (
                f"; {dropped} older dead letters are no longer held "
                "(CSP_DASHBOARD_MAX_DEAD_LETTERS)"
                if dropped
                else ""
            )
            raise NotFound(f"no dead letter {clip(text)} held{window}: nothing replayed", "ids")
        if not letter.payload_kept:
            raise Conflict(
                f"dead letter {letter.id} is {letter.size} bytes, over the dashboard's payload "
                "limit (CSP_DASHBOARD_MAX_PAYLOAD_BYTES), so it was not kept: nothing replayed; "
                "replay it with python -m tools.dead_letters",
                "ids",
            )
        found.setdefault(letter.id, letter)
    return list(found.values())


async def replay(
    view: PipelineView, publisher: Publisher, ids: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Publish the chosen dead letters back; (replayed, skipped). The same event
    dead-lettered by several consumer groups of one topic goes back once: the others
    are skipped, naming the one that went."""
    replayed: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    first_of: dict[tuple[str, bytes], str] = {}
    for letter in chosen(view, ids):
        same = first_of.setdefault((letter.original_topic, letter.payload), letter.id)
        if same != letter.id:
            skipped.append({"id": letter.id, "sameEventAs": same})
            continue
        try:
            sent = await publisher.publish(
                letter.original_topic,
                letter.payload,
                letter.key.encode() if letter.key is not None else None,
                [(k, v.encode()) for k, v in letter.headers.items()],
            )
        except Unavailable as refusal:
            raise PartlyReplayed(refusal.message, replayed) from refusal
        summary = letter.summary
        replayed.append(
            {
                "id": letter.id,
                "eventId": summary["eventId"],
                "type": summary["type"],
                "subject": summary["subject"],
                "key": letter.key,
                "originalTopic": letter.original_topic,
                "partition": sent.partition,
                "offset": sent.offset,
            }
        )
        log.info(
            "dead_letter_replayed",
            dead_letter=letter.id,
            topic=letter.original_topic,
            partition=sent.partition,
            offset=sent.offset,
            event_id=summary["eventId"],
        )
    return replayed, skipped


class PartlyReplayed(Unavailable):
    """The broker failed midway: what went before it was published."""

    def __init__(self, message: str, replayed: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.replayed = replayed

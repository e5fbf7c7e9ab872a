"""The broker side of `csp dead-letters`: reading `.dlq` topics and replaying chosen
records, through `shared.messaging.dead_letters` (what `python -m tools.dead_letters`
uses too). A broker that cannot be reached is one line, not a traceback."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from aiokafka.errors import KafkaError

from csp_cli.failures import Unreachable
from shared.events.topics import dead_letter_topic, is_dead_letter_topic
from shared.messaging.dead_letters import (
    DeadLetterRecord,
    dead_letter_topics,
    read_dead_letters,
    replay,
)

T = TypeVar("T")


def read(
    bootstrap: str, topics: Sequence[str] = (), services: Sequence[str] = ()
) -> list[DeadLetterRecord]:
    """The dead letters of these topics (an event topic or its `.dlq`; default: every
    `.dlq` topic) that these services' consumers wrote (default: any); nothing is
    committed."""
    return _run(_read(bootstrap, topics, services), bootstrap)


async def _read(
    bootstrap: str, topics: Sequence[str], services: Sequence[str]
) -> list[DeadLetterRecord]:
    wanted = {t if is_dead_letter_topic(t) else dead_letter_topic(t) for t in topics}
    existing = await dead_letter_topics(bootstrap)
    records = await read_dead_letters(bootstrap, [t for t in existing if not wanted or t in wanted])
    return [r for r in records if not services or r.service in services]


def publish(bootstrap: str, records: Sequence[DeadLetterRecord]) -> list[DeadLetterRecord]:
    """Each record back to its original topic (once per event); what was published."""
    return _run(replay(bootstrap, records), bootstrap)


# The Kafka client logs each failed connection and, for a client whose start failed,
# "Unclosed AIOKafkaConsumer" (asyncio's logger): the one error line already says it.
_CHATTY = ("aiokafka", "asyncio")


@contextmanager
def _quiet_client() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _CHATTY]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        gc.collect()  # a client left unclosed says so now, while still quiet
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _run(work: Coroutine[Any, Any, T], bootstrap: str) -> T:
    with _quiet_client():
        try:
            return asyncio.run(work)
        except (KafkaError, OSError, TimeoutError) as error:
            reason = str(error) or type(error).__name__
        # Out of the except block: the traceback (and the client it holds) is let go
        # before the quiet ends.
    raise Unreachable(
        f"cannot use the broker at {bootstrap} ({reason}); is it running? "
        "(--bootstrap / KAFKA_BOOTSTRAP_SERVERS)"
    )

"""Noticing that the broker lost its state, so a service reconnects by itself.

The embedded broker keeps everything in memory: a new one at the same address starts
without topics, groups or offsets. The clients of the old one do not always notice: the
producer publishes into topics the new broker never lists, every offset commit fails,
and a consumer whose coordinator was marked dead may wait for it forever. So once a
service consumes, this watch asks the broker every second, and reconnects the runtime
from scratch (topics recreated, groups joined from the new broker's offsets, fresh
producer metadata) when either says the broker forgot this service:

- a topic the service reads is missing: at once;
- a consumer group the service is in does not list this process's member, for
  MEMBER_GRACE_CHECKS answers in a row. Needed because another service may already
  have recreated the shared topics; the grace lets an ordinary rebalance finish.

Events the old broker held but nobody consumed are gone with it: `python -m
tools.replay_outbox` brings them back from the outboxes. With real Kafka a read topic
is never missing, and a member absent for that long has lost its group anyway: its
rejoin is what the reconnect does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

WATCH_SECONDS = 1.0
ASK_TIMEOUT_SECONDS = 3.0
MEMBER_GRACE_CHECKS = 5

Members = Callable[[], Mapping[str, str]]  # group -> this process's member id, if joined


class BrokerQuestions(Protocol):
    async def list_topics(self) -> set[str]: ...

    async def group_members(self, group: str) -> set[str]: ...


class ForgottenBy:
    """One check: why the broker forgot this service, or None while it has not."""

    def __init__(
        self,
        read_topics: Iterable[str],
        broker: BrokerQuestions,
        members: Members,
        grace_checks: int = MEMBER_GRACE_CHECKS,
    ) -> None:
        self._wanted = set(read_topics)
        self._broker = broker
        self._members = members
        self._grace = grace_checks
        self._absent: dict[str, int] = {}  # group -> answers in a row without our member

    async def __call__(self) -> str | None:
        missing = sorted(self._wanted - await self._broker.list_topics())
        if missing:
            return f"topics missing: {', '.join(missing)}"
        for group, member in self._members().items():
            listed = member in await self._broker.group_members(group)
            self._absent[group] = 0 if listed else self._absent.get(group, 0) + 1
            if self._absent[group] >= self._grace:
                return f"group {group} lost member {member}"
        return None

    def reset(self) -> None:
        self._absent.clear()


async def watch_broker(
    service: str,
    forgotten: ForgottenBy,
    reconnect: Callable[[], Awaitable[None]],
    interval: float = WATCH_SECONDS,
) -> None:
    """Forever: when the broker says it forgot the service, `reconnect`. A broker that
    does not answer (down, restarting) decides nothing: the clients retry on their own,
    and the next answer tells whether it came back empty."""
    while True:
        await asyncio.sleep(interval)
        try:
            reason = await asyncio.wait_for(forgotten(), ASK_TIMEOUT_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.debug("broker_watch_no_answer", service=service, error=repr(error))
            continue
        if reason:
            log.warning("broker_forgot_the_service", service=service, reason=reason)
            await reconnect()
            forgotten.reset()
            log.info("broker_reconnected", service=service)

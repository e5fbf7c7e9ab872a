"""Transactional-outbox relay: publish committed outbox rows, then mark them sent.

Rows are claimed under a lease token so two relays over one store never publish
the same row concurrently; a relay that dies leaves rows to be re-claimed when the
lease expires (at-least-once, de-duplicated downstream by the inbox). While the
broker is unreachable the relay keeps the rows and retries (tenacity) with an
exponential backoff from 0.1 s, doubling, capped at 5 s, for as long as it takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog
from tenacity import AsyncRetrying, RetryCallState, wait_exponential

from shared.clock import Clock
from shared.store.port import ClaimedMessage, OutboxMessage, Store

log = structlog.get_logger(__name__)

Publish = Callable[[OutboxMessage], Awaitable[None]]

# Between failed rounds while the broker is away: 0.1 s, 0.2 s, 0.4 s ... at most 5 s.
RETRY_WAIT = wait_exponential(multiplier=0.1, max=5.0)


class OutboxRelay:
    def __init__(
        self,
        store: Store,
        publish: Publish,
        clock: Clock,
        *,
        batch_size: int = 100,
        # Ample for one batch; also how long rows claimed by a relay that died wait.
        lease: timedelta = timedelta(seconds=10),
        idle_poll_seconds: float = 0.5,
    ) -> None:
        self._store = store
        self._publish = publish
        self._clock = clock
        self._batch_size = batch_size
        self._lease = lease
        self._idle_poll = idle_poll_seconds
        self._token = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        store.on_outbox_commit(self._wake.set)

    async def publish_pending(self) -> int:
        """Publish everything claimable now; returns how many rows were sent."""
        sent = 0
        while True:
            now = self._clock.system_now()
            claimed = await self._store.claim_outbox(
                self._token, self._batch_size, now + self._lease, now
            )
            if not claimed:
                return sent
            done = await self._publish_claimed(claimed)
            sent += len(done)

    async def _publish_claimed(self, claimed: list[ClaimedMessage]) -> list[int]:
        """One task per key, each in commit order: a key's events stay ordered while
        different subscriptions' events share the producer's batches."""
        by_key: dict[tuple[str, str], list[ClaimedMessage]] = defaultdict(list)
        for row in claimed:
            by_key[(row.message.topic, row.message.key)].append(row)
        done: list[int] = []

        async def in_order(rows: list[ClaimedMessage]) -> None:
            for row in rows:  # a failure stops this key only: nothing overtakes it
                await self._publish(row.message)
                done.append(row.seq)

        outcomes = await asyncio.gather(
            *(in_order(rows) for rows in by_key.values()), return_exceptions=True
        )
        await self._store.mark_sent(self._token, done)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            sent = set(done)
            await self._store.release_outbox(
                self._token, [row.seq for row in claimed if row.seq not in sent]
            )
            raise failures[0]
        return done

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before publishing, so a commit meanwhile is not missed
            # Broker down: the rows stay claimed-then-released; retry until it is back.
            # A fresh policy each round, so the backoff restarts at 0.1 s after a success.
            async for attempt in AsyncRetrying(
                wait=RETRY_WAIT, before_sleep=_log_publish_retry, reraise=True
            ):
                with attempt:
                    await self.publish_pending()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_poll)


def _log_publish_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.error(
        "outbox_publish_failed",
        attempt=state.attempt_number,
        retry_in=state.upcoming_sleep,
        exc_info=error,
    )

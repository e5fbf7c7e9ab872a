"""Transactional-outbox relay: publish committed outbox rows, then mark them sent.

Rows are claimed under a lease token so two relays over one store never publish
the same row concurrently; a relay that dies leaves rows to be re-claimed when the
lease expires (at-least-once, de-duplicated downstream by the inbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog

from shared.clock import Clock
from shared.store.port import ClaimedMessage, OutboxMessage, Store

log = structlog.get_logger(__name__)

Publish = Callable[[OutboxMessage], Awaitable[None]]


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
        backoff = 0.1
        while True:
            self._wake.clear()  # before publishing, so a commit meanwhile is not missed
            try:
                await self.publish_pending()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:  # broker down: keep rows, retry later
                log.exception("outbox_publish_failed", retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_poll)

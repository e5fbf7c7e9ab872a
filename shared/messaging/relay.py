"""Transactional-outbox relay: publish committed outbox rows, then mark them sent.

Rows are claimed under a lease token so two relays over one store never publish
the same row concurrently; a relay that dies leaves rows to be re-claimed when the
lease expires (at-least-once, de-duplicated downstream by the inbox). While the
broker is unreachable the relay keeps the rows and retries (tenacity) with an
exponential backoff from 0.1 s, doubling, capped at 5 s, for as long as it takes.

Within a claimed batch each key (topic, subscription) is one task publishing its rows
in commit order. Every publish has `publish_timeout` (5 s, below the 10 s lease, and
far below aiokafka's 40 s request timeout), and a key starts a publish only if that
publish can time out before the lease ends, so no row is still being published when
another relay may claim it. A key's rows are marked sent as soon as its last publish
returned, by a writer that batches whatever finished meanwhile: one slow key does not
hold back the marking of the others. A key whose publish fails or times out stops there; that row and
its later ones are given back at the end of the batch and published, in order, by the
next round (a timed-out publish may still land: the inbox skips the second copy).

Batches overlap: while one waits for the broker's acknowledgements and for its rows to
be marked sent, the next one is claimed and published (up to `batches_in_flight`). A
claim never takes a row whose key has an earlier unsent row under lease (every store
holds it back, `Store.claim_outbox`), so a key's later rows wait for its earlier ones
to be marked sent, and its order holds across batches as within one. Measured with
`make bench`: before, rows committed while a batch waited for its acknowledgements and
its mark-sent write (which queues behind the handlers' transactions for the store's one
writer) waited for all of that before being claimed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog
from tenacity import AsyncRetrying, RetryCallState, wait_exponential

from shared.clock import Clock
from shared.store.port import ClaimedMessage, OutboxMessage, Store

log = structlog.get_logger(__name__)

Publish = Callable[[OutboxMessage], Awaitable[None]]

# Between failed rounds while the broker is away: 0.1 s, 0.2 s, 0.4 s ... at most 5 s.
RETRY_WAIT = wait_exponential(multiplier=0.1, max=5.0)


class PublishTimedOut(TimeoutError):
    """The broker did not acknowledge a row within the publish timeout."""


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
        # One row's publish; below the lease, so a hung one ends while the rows are ours.
        publish_timeout: timedelta = timedelta(seconds=5),
        idle_poll_seconds: float = 0.5,
        batches_in_flight: int = 4,
    ) -> None:
        if publish_timeout >= lease:
            raise ValueError(f"publish timeout {publish_timeout} must be below the lease {lease}")
        self._store = store
        self._publish = publish
        self._clock = clock
        self._batch_size = batch_size
        self._lease = lease
        self._publish_timeout = publish_timeout.total_seconds()
        self._idle_poll = idle_poll_seconds
        self._batches_in_flight = batches_in_flight
        self._token = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        store.on_outbox_commit(self._wake.set)

    async def publish_pending(self) -> int:
        """Publish everything claimable now; returns how many rows were sent. Raises the
        first publish failure once the batches in flight are done (no new batch is
        claimed after a failure)."""
        sent = 0
        failure: BaseException | None = None
        batches: set[asyncio.Task[int]] = set()
        loop = asyncio.get_running_loop()
        claim = True  # at first, after a full batch, a commit, or a batch that ended
        try:
            while True:
                room = failure is None and len(batches) < self._batches_in_flight
                if room and (claim or self._wake.is_set()):
                    now = self._clock.system_now()
                    # The last moment a publish may start and still end (or time out) in
                    # the lease.
                    last_start = loop.time() + self._lease.total_seconds() - self._publish_timeout
                    self._wake.clear()  # a commit from now on is seen by the next claim
                    claimed = await self._store.claim_outbox(
                        self._token, self._batch_size, now + self._lease, now
                    )
                    # A short batch took all there was: claim again only when told to.
                    claim = len(claimed) == self._batch_size
                    if claimed:
                        batches.add(asyncio.create_task(self._publish_claimed(claimed, last_start)))
                        continue
                if not batches:
                    break
                # Until a batch ends (its rows sent may free later rows of their keys)
                # or, while there is room for a batch, a commit adds rows.
                waits: set[asyncio.Future[Any]] = set(batches)
                woken = None
                if room:
                    woken = asyncio.ensure_future(self._wake.wait())
                    waits.add(woken)
                try:
                    done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    if woken is not None:
                        woken.cancel()
                for batch in done & batches:
                    batches.discard(batch)
                    claim = True
                    if batch.exception() is not None:
                        failure = failure or batch.exception()
                    else:
                        sent += batch.result()
        finally:
            for batch in batches:  # cancelled (the relay stops): their leases run out
                batch.cancel()
        if failure is not None:
            raise failure
        return sent

    async def _publish_claimed(self, claimed: list[ClaimedMessage], last_start: float) -> int:
        """One task per key, each in commit order: a key's events stay ordered while
        different subscriptions' events share the producer's batches."""
        by_key: dict[tuple[str, str], list[ClaimedMessage]] = defaultdict(list)
        for row in claimed:
            by_key[(row.message.topic, row.message.key)].append(row)
        marker = _SentMarker(self._store, self._token)
        loop = asyncio.get_running_loop()

        async def in_order(rows: list[ClaimedMessage]) -> None:
            # Marked when the key's run ends (a failure included, not a cancellation):
            # its next rows wait for all of these anyway, and it is one write, not one
            # per row.
            published: list[int] = []
            try:
                for row in rows:  # a failure stops this key only: nothing overtakes it
                    if loop.time() > last_start:
                        break  # out of lease: the rest goes back, for the next round
                    try:
                        async with asyncio.timeout(self._publish_timeout):
                            await self._publish(row.message)
                    except TimeoutError:
                        raise PublishTimedOut(
                            f"no acknowledgement of outbox row {row.seq} (topic "
                            f"{row.message.topic}, key {row.message.key}) within "
                            f"{self._publish_timeout} s"
                        ) from None
                    published.append(row.seq)
            except Exception:
                marker.add(*published)
                raise
            marker.add(*published)

        outcomes = await asyncio.gather(
            *(in_order(rows) for rows in by_key.values()), return_exceptions=True
        )
        marked = await marker.drain()
        unsent = [row.seq for row in claimed if row.seq not in marked]
        if unsent:  # failed, timed out, or out of lease: claimable again at once
            await self._store.release_outbox(self._token, unsent)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            raise failures[0]
        return len(marked)

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
            # publish_pending clears the wake before each claim: a commit after the last
            # claim leaves it set, and the wait below returns at once.
            # Broker down: the rows stay claimed-then-released; retry until it is back.
            # A fresh policy each round, so the backoff restarts at 0.1 s after a success.
            async for attempt in AsyncRetrying(
                wait=RETRY_WAIT, before_sleep=_log_publish_retry, reraise=True
            ):
                with attempt:
                    await self.publish_pending()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_poll)


class _SentMarker:
    """Marks published rows sent as they come: one store write at a time, each taking
    every row that finished while the previous one was being written."""

    def __init__(self, store: Store, token: str) -> None:
        self._store = store
        self._token = token
        self._waiting: list[int] = []
        self._marked: set[int] = set()
        self._writer: asyncio.Task[None] | None = None

    def add(self, *seqs: int) -> None:
        if not seqs:
            return
        self._waiting.extend(seqs)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="outbox-mark-sent")

    async def _write(self) -> None:
        while self._waiting:
            seqs, self._waiting = self._waiting, []
            await self._store.mark_sent(self._token, seqs)
            self._marked.update(seqs)

    async def drain(self) -> set[int]:
        """Wait for the writes; the rows marked. A failed write raises (its rows stay
        leased and are published again once the lease expires: a duplicate, not a loss)."""
        while True:
            writer = self._writer
            if writer is not None:
                await writer  # at once if it is done; raises if its write failed
            if self._writer is not writer:
                continue  # a newer writer took over meanwhile
            if not self._waiting:
                return set(self._marked)
            # added after the writer's last look
            self._writer = asyncio.create_task(self._write(), name="outbox-mark-sent")


def _log_publish_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.error(
        "outbox_publish_failed",
        attempt=state.attempt_number,
        retry_in=state.upcoming_sleep,
        exc_info=error,
    )

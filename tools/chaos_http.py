"""HTTP calls that outlive the service they call: retried with backoff until it answers.

The system is under test, not the client: a call that fails because its service is
down (refused, reset, cut off mid-answer) is sent again until it gets an answer.
What the answer means is the caller's business, with one fact from here: whether an
earlier attempt may have reached the service and been applied before the process died.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import httpx

T = TypeVar("T")

FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 1.0
# These fail before the request left the client: the service cannot have applied it.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _ServerError(Exception):
    """A 5xx answer: retried like an outage, but remembered (a live service failed)."""


@dataclass(frozen=True)
class Sent(Generic[T]):
    value: T
    # An earlier attempt was cut off after it was sent: it may have been applied, so a
    # "conflict"/"already done" answer now can be that attempt's effect.
    maybe_applied_before: bool


@dataclass
class Retrying:
    # Called after every failed attempt: a service that died unasked must abort the
    # run (System.check_alive), not be waited for until the time bound.
    after_failure: Callable[[], None] = lambda: None
    failures: Counter[str] = field(default_factory=Counter)  # by exception type
    server_errors: list[str] = field(default_factory=list)

    async def call(self, what: str, send: Callable[[], Awaitable[T]]) -> Sent[T]:
        delay = FIRST_BACKOFF_S
        maybe_applied = False
        while True:
            try:
                return Sent(await send(), maybe_applied)
            except httpx.TransportError as error:
                self.failures[type(error).__name__] += 1
                maybe_applied = maybe_applied or not isinstance(error, NEVER_SENT)
            except _ServerError as error:
                self.failures["5xx"] += 1
                self.server_errors.append(f"{what}: {error}")
                maybe_applied = True  # the service may have committed before failing
            self.after_failure()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)

    async def request(
        self, what: str, send: Callable[[], Awaitable[httpx.Response]]
    ) -> Sent[httpx.Response]:
        """`call` for one HTTP request; a 5xx is retried too."""

        async def answered() -> httpx.Response:
            response = await send()
            if response.status_code >= 500:
                raise _ServerError(f"{response.status_code} {response.text[:200]}")
            return response

        return await self.call(what, answered)

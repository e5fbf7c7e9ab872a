"""The single-writer lock both store adapters hold around every transaction.

An `asyncio.Lock` that remembers which task holds it, so a task that asks for it
again (a nested transaction, or a store call made inside a transaction) fails fast
with RuntimeError instead of waiting for itself forever.
"""

from __future__ import annotations

import asyncio
from typing import Any


class WriterLock:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    async def acquire(self) -> None:
        if self._owner is not None and self._owner is asyncio.current_task():
            raise RuntimeError("this task already holds the store (nested transaction?)")
        await self._lock.acquire()
        self._owner = asyncio.current_task()

    def release(self) -> None:
        self._owner = None
        self._lock.release()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

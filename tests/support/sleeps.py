"""Replacing `asyncio.sleep` for one test's event loop only.

`asyncio.sleep` is one module attribute for the whole process: patched plainly, every
other loop (the threads of servers a session fixture started) sleeps through the
replacement too, a loop that meant to wait spins, and a test counting naps counts theirs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest


def patch_sleep(monkeypatch: pytest.MonkeyPatch, nap: Callable[[float], Awaitable[None]]) -> None:
    """`nap` replaces `asyncio.sleep` on the running loop; any other loop sleeps for real."""
    real_sleep = asyncio.sleep
    ours = asyncio.get_running_loop()

    async def sleep(seconds: float, *args: Any, **kwargs: Any) -> Any:
        if asyncio.get_running_loop() is not ours:
            return await real_sleep(seconds, *args, **kwargs)
        return await nap(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)

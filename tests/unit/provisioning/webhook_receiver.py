"""A publisher's webhook endpoint for provisioning's tests: a real HTTP server on
127.0.0.1 (uvicorn + starlette in a thread of its own) that keeps every request as
received (raw body, headers) and answers with the statuses a test scripts.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.messaging.embedded_broker import free_port
from tests.support.http_thread import serving


@dataclass(frozen=True)
class Received:
    raw: bytes
    headers: dict[str, str]
    answered: int

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


def _subscription_id(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("subscriptionId", ""))
    except (ValueError, AttributeError):
        return ""


@dataclass
class WebhookReceiver:
    port: int = field(default_factory=free_port)
    delay_seconds: float = 0.0  # how long each answer takes (to provoke timeouts)
    _statuses: list[int] = field(default_factory=list)
    _statuses_for: dict[str, list[int]] = field(default_factory=dict)
    _received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def answer(self, *statuses: int) -> None:
        """The next answers in turn; the last one repeats. Unscripted: 200."""
        with self._lock:
            self._statuses = list(statuses)

    def answer_for(self, subscription_id: str, *statuses: int) -> None:
        """Answers for one subscription's POSTs only: deliveries for different
        subscriptions run concurrently, so "the first POST" is not theirs to script."""
        with self._lock:
            self._statuses_for[subscription_id] = list(statuses)

    def reset(self) -> None:
        with self._lock:
            self._statuses, self._received, self._statuses_for = [], [], {}
        self.delay_seconds = 0.0

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def actions(self) -> list[str]:
        return [r.body["action"] for r in self.received]

    async def _receive(self, request: Request) -> Response:
        raw = await request.body()
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        with self._lock:
            status = 200
            scripted = self._statuses_for.get(_subscription_id(raw), self._statuses)
            if scripted:
                status = scripted.pop(0) if len(scripted) > 1 else scripted[0]
            self._received.append(Received(raw, dict(request.headers), status))
        return Response(status_code=status)

    @contextmanager
    def running(self) -> Iterator[WebhookReceiver]:
        app = Starlette(routes=[Route("/webhook", self._receive, methods=["POST"])])
        with serving(app, self.port, "webhook-receiver"):
            yield self
